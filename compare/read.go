package compare

import (
	"encoding/json"
	"fmt"

	"github.com/perfnb/perfnb/internal/nbformat"
	"github.com/perfnb/perfnb/magics/record"
)

// Entry is one record found in a notebook, with the cell it is in.
type Entry struct {
	// CellID is the nbformat id of the cell ("" in notebooks before 4.5).
	CellID string
	// Cell is the cell's place among the notebook's code cells, from 1,
	// not counting a cell of parameters that perfnb run -p injected: the
	// same in runs with and without -p, where the cell's number (In[n])
	// is not.
	Cell int
	// Index counts the records of the same magic and labels earlier in
	// the same cell, so that two %timeit lines of one cell stay apart.
	Index  int
	Record record.Record
	at     int // the cell's index in the notebook's cells
}

// NotebookResults are the records read from one notebook.
type NotebookResults struct {
	Path    string
	Entries []Entry
}

// InputError is a notebook that cannot be compared: unreadable, not a
// notebook, or without results.
type InputError struct {
	Path string
	Err  error
}

func (e *InputError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Read returns the records saved in the notebook at path, in cell order.
// A notebook without any is an *InputError.
func Read(path string) (*NotebookResults, error) {
	doc, err := nbformat.Read(path)
	if err != nil {
		return nil, &InputError{path, err}
	}
	return resultsOf(path, doc)
}

// resultsOf returns the records of a notebook that was read or executed.
func resultsOf(path string, doc *nbformat.Document) (*NotebookResults, error) {
	entries, err := entriesOf(doc)
	if err != nil {
		return nil, &InputError{path, err}
	}
	if len(entries) == 0 {
		return nil, &InputError{path, fmt.Errorf("the notebook holds no perfnb results (%s outputs): run it with perfnb run, or save it from Jupyter after running its %%timeit, %%memit, %%time or %%scalene cells", record.MIMEType)}
	}
	return &NotebookResults{Path: path, Entries: entries}, nil
}

// entriesOf reads the records in the outputs of a notebook's code cells.
func entriesOf(doc *nbformat.Document) ([]Entry, error) {
	var out []Entry
	n := 0
	for i, c := range doc.Cells {
		if c.Type != "code" || c.HasTag(nbformat.InjectedTag) {
			continue
		}
		n++
		recs, err := cellRecords(c)
		if err != nil {
			return nil, fmt.Errorf("cell %d: %w", i+1, err)
		}
		seen := map[string]int{}
		for _, rec := range recs {
			key := rec.Magic + "\x00" + labels(rec)
			out = append(out, Entry{CellID: c.ID, Cell: n, Index: seen[key], Record: rec, at: i})
			seen[key]++
		}
	}
	return out, nil
}

// cellRecords returns the records in the outputs of a code cell.
func cellRecords(c *nbformat.Cell) ([]record.Record, error) {
	var recs []record.Record
	for _, raw := range c.Outputs {
		var o struct {
			Data map[string]json.RawMessage `json:"data"`
		}
		if json.Unmarshal(raw, &o) != nil {
			continue // not an output with data
		}
		data, ok := o.Data[record.MIMEType]
		if !ok {
			continue
		}
		rec, err := record.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("a result that cannot be read: %w", err)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// labels joins the labels of a record's results.
func labels(rec record.Record) string {
	s := ""
	for _, r := range rec.Results {
		s += r.Label + "\x00"
	}
	return s
}
