// Package nbformat reads and writes Jupyter notebooks (nbformat 4), the
// one reader of notebook files that perfnb run and perfnb compare share.
//
// Only the fields perfnb reads or writes are decoded; every other field of
// the notebook and of its cells is kept as raw JSON and written back
// unchanged. Files are read with a bound (MaxSize), and a device is
// refused, so that a link to /dev/zero or an endless pipe is an error
// rather than memory without limit.
package nbformat

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/perfnb/perfnb/internal/atomicfile"
)

// The cell tags papermill uses: the cell that declares a notebook's
// parameters with their defaults, and the cell inserted after it with
// the values given (perfnb run -p).
const (
	ParametersTag = "parameters"
	InjectedTag   = "injected-parameters"
)

// MaxSize is the largest notebook file Read accepts: 128 MiB, hundreds of
// times a notebook of measurements with its flame graphs.
const MaxSize = 128 << 20

// Document is an nbformat 4 notebook.
type Document struct {
	// Metadata is the notebook's metadata, field by field.
	Metadata map[string]json.RawMessage
	Cells    []*Cell
	fields   map[string]json.RawMessage // everything but cells and metadata
}

// Cell is one cell of a notebook.
type Cell struct {
	Type   string // "code", "markdown" or "raw"
	ID     string
	Source string
	// Outputs are a code cell's outputs, each an nbformat output object.
	Outputs []json.RawMessage
	// ExecutionCount is a code cell's count, the n of In[n]; 0 is null.
	ExecutionCount int
	fields         map[string]json.RawMessage // metadata and fields not above
}

// NewCodeCell returns a code cell with the given source and tags.
func NewCodeCell(source string, tags ...string) *Cell {
	c := &Cell{Type: "code", Source: source, fields: map[string]json.RawMessage{}}
	meta := map[string]any{}
	if len(tags) > 0 {
		meta["tags"] = tags
	}
	c.fields["metadata"], _ = json.Marshal(meta)
	return c
}

// ReadError is a notebook file that cannot be read: missing, not a
// notebook, or too large.
type ReadError struct {
	Path string
	Err  error
}

func (e *ReadError) Error() string { return e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// Read reads and decodes the notebook at path, reading at most MaxSize
// bytes. Its errors are *ReadError.
func Read(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ReadError{path, fmt.Errorf("cannot read the notebook: %w", err)}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode()&fs.ModeDevice != 0 {
		return nil, &ReadError{path, fmt.Errorf("%s is a device, not a notebook file", path)}
	}
	d, err := decode(f, MaxSize)
	if err != nil {
		return nil, &ReadError{path, fmt.Errorf("%s is not a notebook perfnb can read: %w", path, err)}
	}
	return d, nil
}

// errTooLarge is what decode returns when the input passes its limit.
var errTooLarge = errors.New("too large")

// limitedReader reads from r until more than n bytes have come, then
// fails with errTooLarge.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, errTooLarge
	}
	return n, err
}

// decode reads one notebook from r, refusing more than limit bytes. The
// JSON is checked as it arrives, so that bytes that are not JSON (a
// device, a binary file) fail at once.
func decode(r io.Reader, limit int64) (*Document, error) {
	dec := json.NewDecoder(&limitedReader{r: r, n: limit})
	var top map[string]json.RawMessage
	err := dec.Decode(&top)
	if err == nil {
		// Nothing but white space may follow the notebook.
		if _, terr := dec.Token(); terr != io.EOF {
			err = terr
			if err == nil {
				err = errors.New("more data after the notebook's closing brace")
			}
		}
	}
	switch {
	case errors.Is(err, errTooLarge):
		return nil, fmt.Errorf("larger than %s, the most perfnb reads (clear its outputs with jupyter nbconvert --clear-output)", sizeText(limit))
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, errors.New("invalid JSON: the file ends before the notebook does")
	case err != nil:
		return nil, fmt.Errorf("invalid JSON: %w", err)
	case top == nil:
		return nil, errors.New("not a JSON object")
	}
	return fromFields(top)
}

// sizeText writes a limit in MiB or bytes.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Parse decodes an nbformat 4 notebook held in b.
func Parse(b []byte) (*Document, error) {
	return decode(bytes.NewReader(b), int64(len(b)))
}

// fromFields decodes a notebook's top-level fields.
func fromFields(top map[string]json.RawMessage) (*Document, error) {
	var major int
	if raw, ok := top["nbformat"]; !ok {
		return nil, errors.New("no nbformat field: not an nbformat 4 notebook")
	} else if err := json.Unmarshal(raw, &major); err != nil {
		return nil, fmt.Errorf("nbformat: %w", err)
	}
	if major != 4 {
		return nil, fmt.Errorf("nbformat %d is not supported (only 4; convert it with `jupyter nbconvert --to notebook`)", major)
	}
	d := &Document{fields: top, Metadata: map[string]json.RawMessage{}}
	if raw, ok := top["metadata"]; ok {
		if err := json.Unmarshal(raw, &d.Metadata); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
		if d.Metadata == nil {
			d.Metadata = map[string]json.RawMessage{}
		}
	}
	var cells []map[string]json.RawMessage
	if raw, ok := top["cells"]; ok {
		if err := json.Unmarshal(raw, &cells); err != nil {
			return nil, fmt.Errorf("cells: %w", err)
		}
	}
	delete(top, "cells")
	delete(top, "metadata")
	for i, fields := range cells {
		c, err := parseCell(fields)
		if err != nil {
			return nil, fmt.Errorf("cell %d: %w", i+1, err)
		}
		d.Cells = append(d.Cells, c)
	}
	return d, nil
}

func parseCell(fields map[string]json.RawMessage) (*Cell, error) {
	if fields == nil {
		return nil, errors.New("not an object")
	}
	c := &Cell{fields: fields}
	if err := json.Unmarshal(fields["cell_type"], &c.Type); err != nil {
		return nil, fmt.Errorf("cell_type: %w", err)
	}
	if raw, ok := fields["id"]; ok {
		if err := json.Unmarshal(raw, &c.ID); err != nil {
			return nil, fmt.Errorf("id: %w", err)
		}
	}
	src, err := multiline(fields["source"])
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	c.Source = src
	if c.Type == "code" {
		if raw, ok := fields["outputs"]; ok && string(bytes.TrimSpace(raw)) != "null" {
			if err := json.Unmarshal(raw, &c.Outputs); err != nil {
				return nil, fmt.Errorf("outputs: %w", err)
			}
		}
		if raw, ok := fields["execution_count"]; ok {
			// null decodes as 0, which is written back as null.
			if err := json.Unmarshal(raw, &c.ExecutionCount); err != nil {
				return nil, fmt.Errorf("execution_count: %w", err)
			}
		}
	}
	for _, k := range []string{"cell_type", "id", "source", "outputs", "execution_count"} {
		delete(fields, k)
	}
	return c, nil
}

// multiline decodes nbformat's multiline_string: a string or a list of
// strings to be joined.
func multiline(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return "", err
	}
	return strings.Join(lines, ""), nil
}

// SplitLines splits s into lines that keep their "\n", as nbformat
// stores a multiline string (Python's str.splitlines(True) for "\n" line
// ends); "" gives an empty list.
func SplitLines(s string) []string {
	lines := []string{}
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// Tags returns the cell's metadata.tags.
func (c *Cell) Tags() []string {
	var meta struct {
		Tags []string `json:"tags"`
	}
	if json.Unmarshal(c.fields["metadata"], &meta) != nil {
		return nil
	}
	return meta.Tags
}

// HasTag reports whether the cell's metadata.tags holds tag.
func (c *Cell) HasTag(tag string) bool { return slices.Contains(c.Tags(), tag) }

// cellIDPattern is the form nbformat 4.5 requires of cell ids.
var cellIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// EnsureIDs gives every cell without a valid id, or with the id of an
// earlier cell, a fresh random one.
func (d *Document) EnsureIDs() error {
	seen := make(map[string]bool)
	for _, c := range d.Cells {
		if cellIDPattern.MatchString(c.ID) && !seen[c.ID] {
			seen[c.ID] = true
			continue
		}
		for {
			id, err := randomID()
			if err != nil {
				return err
			}
			if !seen[id] {
				c.ID = id
				seen[id] = true
				break
			}
		}
	}
	return nil
}

// randomID returns 8 random hexadecimal digits, the form Jupyter uses.
func randomID() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cannot make a cell id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// SetMetadata sets a notebook metadata field to value, as JSON.
func (d *Document) SetMetadata(key string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return err
	}
	d.Metadata[key] = b
	return nil
}

// Encode returns the notebook as Jupyter writes it: keys sorted, one
// space of indent, text split into lines, and a final newline.
func (d *Document) Encode() ([]byte, error) {
	top := make(map[string]any, len(d.fields)+4)
	for k, v := range d.fields {
		top[k] = v
	}
	top["nbformat"] = 4
	top["nbformat_minor"] = 5
	top["metadata"] = d.Metadata
	cells := make([]any, 0, len(d.Cells))
	for _, c := range d.Cells {
		cells = append(cells, c.encode())
	}
	top["cells"] = cells

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(top); err != nil {
		return nil, fmt.Errorf("cannot encode the notebook: %w", err)
	}
	return buf.Bytes(), nil
}

func (c *Cell) encode() map[string]any {
	m := make(map[string]any, len(c.fields)+5)
	for k, v := range c.fields {
		m[k] = v
	}
	m["cell_type"] = c.Type
	m["id"] = c.ID
	m["source"] = SplitLines(c.Source)
	if _, ok := m["metadata"]; !ok {
		m["metadata"] = map[string]any{}
	}
	if c.Type == "code" {
		outs := c.Outputs
		if outs == nil {
			outs = []json.RawMessage{}
		}
		m["outputs"] = outs
		if c.ExecutionCount > 0 {
			m["execution_count"] = c.ExecutionCount
		} else {
			m["execution_count"] = nil
		}
	}
	return m
}

// Marshal encodes v as nbformat writes JSON: without escaping <, > and
// & (HTML outputs stay as they are).
func Marshal(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// WriteFile writes the notebook to path atomically (see package
// atomicfile: a link is followed, a target that is not a regular file is
// refused).
func (d *Document) WriteFile(path string) error {
	b, err := d.Encode()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("cannot write the notebook: %w", err)
	}
	return nil
}
