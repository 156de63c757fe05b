package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/perfnb/perfnb/magics/record"
)

// Entry is one record found in a notebook, with the cell it is in.
type Entry struct {
	// CellID is the nbformat id of the cell ("" in notebooks before 4.5).
	CellID string
	// Index counts the records of the same magic and label earlier in
	// the same cell, so that two %timeit lines of one cell stay apart.
	Index  int
	Record record.Record
}

// InputError is a notebook that cannot be compared: unreadable, not a
// notebook, or without results.
type InputError struct {
	Path string
	Err  error
}

func (e *InputError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// ReadNotebook returns the records saved in the notebook at path, in cell
// order. A notebook without any is an *InputError.
func ReadNotebook(path string) ([]Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &InputError{path, fmt.Errorf("cannot read the notebook: %w", err)}
	}
	entries, err := parseNotebook(b)
	if err != nil {
		return nil, &InputError{path, err}
	}
	if len(entries) == 0 {
		return nil, &InputError{path, fmt.Errorf("the notebook holds no perfnb results (%s outputs): run it with perfnb run, or save it from Jupyter after running its %%timeit, %%memit, %%time or %%scalene cells", record.MIMEType)}
	}
	return entries, nil
}

// parseNotebook reads the records of an nbformat 4 notebook.
func parseNotebook(b []byte) ([]Entry, error) {
	var nb struct {
		NBFormat *int `json:"nbformat"`
		Cells    []struct {
			ID       string `json:"id"`
			CellType string `json:"cell_type"`
			Outputs  []struct {
				Data map[string]json.RawMessage `json:"data"`
			} `json:"outputs"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(b, &nb); err != nil {
		return nil, fmt.Errorf("not a notebook: invalid JSON: %w", err)
	}
	if nb.NBFormat == nil || *nb.NBFormat != 4 {
		return nil, fmt.Errorf("not an nbformat 4 notebook")
	}
	var out []Entry
	for i, c := range nb.Cells {
		seen := map[string]int{}
		for _, o := range c.Outputs {
			raw, ok := o.Data[record.MIMEType]
			if !ok {
				continue
			}
			rec, err := decodeRecord(raw)
			if err != nil {
				return nil, fmt.Errorf("cell %d: a result that cannot be read: %w", i+1, err)
			}
			key := rec.Magic + "\x00" + labels(rec)
			out = append(out, Entry{CellID: c.ID, Index: seen[key], Record: rec})
			seen[key]++
		}
	}
	return out, nil
}

// decodeRecord reads a record stored as a JSON object or, by a client
// that stored it as text, as a string holding one.
func decodeRecord(raw json.RawMessage) (record.Record, error) {
	var rec record.Record
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return rec, err
		}
		raw = []byte(s)
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, err
	}
	if rec.Magic == "" {
		return rec, fmt.Errorf("no magic named")
	}
	return rec, nil
}

// labels joins the labels of a record's results.
func labels(rec record.Record) string {
	var b bytes.Buffer
	for _, r := range rec.Results {
		b.WriteString(r.Label + "\x00")
	}
	return b.String()
}
