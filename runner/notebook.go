package runner

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/perfnb/perfnb/kernel/protocol"
)

// notebook is an nbformat 4 notebook. Only the fields the runner reads or
// writes are decoded; every other field of the notebook and of its cells is
// kept as raw JSON and written back unchanged.
type notebook struct {
	fields   map[string]json.RawMessage // everything but cells and metadata
	metadata map[string]json.RawMessage
	cells    []*nbCell
}

// nbCell is one cell of a notebook.
type nbCell struct {
	fields   map[string]json.RawMessage // everything but the fields below
	cellType string
	id       string
	source   string
	// For code cells: outputs and execution count. Outputs of a cell that
	// was not run are kept raw as they were read.
	rawOutputs     json.RawMessage
	outputs        []*output // set once the cell has run
	ran            bool
	executionCount int // 0 is written as null
}

// cellIDPattern is the form nbformat 4.5 requires of cell ids.
var cellIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// readNotebook reads and decodes the notebook at path.
func readNotebook(path string) (*notebook, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the notebook: %w", err)
	}
	nb, err := parseNotebook(b)
	if err != nil {
		return nil, fmt.Errorf("%s is not a notebook perfnb can run: %w", path, err)
	}
	return nb, nil
}

// parseNotebook decodes an nbformat 4 notebook.
func parseNotebook(b []byte) (*notebook, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	var major int
	if raw, ok := top["nbformat"]; !ok {
		return nil, fmt.Errorf("no nbformat field")
	} else if err := json.Unmarshal(raw, &major); err != nil {
		return nil, fmt.Errorf("nbformat: %w", err)
	}
	if major != 4 {
		return nil, fmt.Errorf("nbformat %d is not supported (only 4; convert it with `jupyter nbconvert --to notebook`)", major)
	}
	nb := &notebook{fields: top, metadata: map[string]json.RawMessage{}}
	if raw, ok := top["metadata"]; ok {
		if err := json.Unmarshal(raw, &nb.metadata); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
		if nb.metadata == nil {
			nb.metadata = map[string]json.RawMessage{}
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
		nb.cells = append(nb.cells, c)
	}
	return nb, nil
}

func parseCell(fields map[string]json.RawMessage) (*nbCell, error) {
	if fields == nil {
		return nil, fmt.Errorf("not an object")
	}
	c := &nbCell{fields: fields}
	if err := json.Unmarshal(fields["cell_type"], &c.cellType); err != nil {
		return nil, fmt.Errorf("cell_type: %w", err)
	}
	if raw, ok := fields["id"]; ok {
		if err := json.Unmarshal(raw, &c.id); err != nil {
			return nil, fmt.Errorf("id: %w", err)
		}
	}
	src, err := multiline(fields["source"])
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	c.source = src
	if c.cellType == "code" {
		c.rawOutputs = fields["outputs"]
		if raw, ok := fields["execution_count"]; ok {
			// null decodes as 0, which is written back as null.
			if err := json.Unmarshal(raw, &c.executionCount); err != nil {
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

// splitLines splits s into lines that keep their "\n", as Python's
// str.splitlines(True) does for "\n" line ends; "" gives an empty list.
func splitLines(s string) []string {
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

// ensureIDs gives every cell without a valid id a fresh random one, unique
// in the notebook.
func (nb *notebook) ensureIDs() error {
	seen := make(map[string]bool)
	for _, c := range nb.cells {
		if cellIDPattern.MatchString(c.id) && !seen[c.id] {
			seen[c.id] = true
			continue
		}
		for {
			id, err := randomID()
			if err != nil {
				return err
			}
			if !seen[id] {
				c.id = id
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

// setMeta sets a notebook metadata field.
func (nb *notebook) setMeta(key string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return err
	}
	nb.metadata[key] = b
	return nil
}

// encode returns the notebook as Jupyter writes it: keys sorted, one space
// of indent, text split into lines, and a final newline.
func (nb *notebook) encode() ([]byte, error) {
	top := make(map[string]any, len(nb.fields)+2)
	for k, v := range nb.fields {
		top[k] = v
	}
	top["nbformat"] = 4
	top["nbformat_minor"] = 5
	top["metadata"] = nb.metadata
	cells := make([]any, 0, len(nb.cells))
	for _, c := range nb.cells {
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

func (c *nbCell) encode() map[string]any {
	m := make(map[string]any, len(c.fields)+5)
	for k, v := range c.fields {
		m[k] = v
	}
	m["cell_type"] = c.cellType
	m["id"] = c.id
	m["source"] = splitLines(c.source)
	if _, ok := m["metadata"]; !ok {
		m["metadata"] = map[string]any{}
	}
	if c.cellType == "code" {
		switch {
		case c.ran:
			outs := make([]any, 0, len(c.outputs))
			for _, o := range c.outputs {
				outs = append(outs, o.encode())
			}
			m["outputs"] = outs
		case len(c.rawOutputs) > 0:
			m["outputs"] = c.rawOutputs
		default:
			m["outputs"] = []any{}
		}
		if c.executionCount > 0 {
			m["execution_count"] = c.executionCount
		} else {
			m["execution_count"] = nil
		}
	}
	return m
}

// clear removes a code cell's outputs and execution count.
func (c *nbCell) clear() {
	c.ran = true
	c.outputs = nil
	c.executionCount = 0
}

// writeNotebook writes nb to path atomically: into a temporary file in the
// same directory, then renamed over path.
func writeNotebook(nb *notebook, path string) error {
	b, err := nb.encode()
	if err != nil {
		return err
	}
	path, err = outputTarget(path)
	if err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write the notebook: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write the notebook: %w", err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write the notebook: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write the notebook: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write the notebook: %w", err)
	}
	return nil
}

// outputTarget returns the file the notebook is to be written to: path,
// or the file it links to. The notebook is written to a temporary file
// beside it and renamed over it, so a target that is not a regular file (a
// device such as /dev/full, a directory, a pipe) is refused rather than
// replaced.
func outputTarget(path string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return path, nil // a new file (or a link to one)
	case err != nil:
		return "", fmt.Errorf("cannot write the notebook to %s: %w", path, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("cannot write the notebook to %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		what := "not a regular file"
		switch m := fi.Mode(); {
		case m.IsDir():
			what = "a directory"
		case m&fs.ModeDevice != 0:
			what = "a device"
		case m&fs.ModeNamedPipe != 0:
			what = "a named pipe"
		case m&fs.ModeSocket != 0:
			what = "a socket"
		}
		return "", fmt.Errorf("cannot write the notebook to %s: it is %s, not a regular file", path, what)
	}
	return real, nil
}

// output is one nbformat output of a code cell.
type output struct {
	outputType string // stream, display_data, execute_result, error

	// stream; text grows by appending (a cell may print a million lines)
	name string
	text []byte

	// display_data and execute_result
	data           protocol.Bundle
	metadata       map[string]any
	executionCount int

	// error
	ename, evalue string
	traceback     []string
}

func (o *output) encode() map[string]any {
	m := map[string]any{"output_type": o.outputType}
	switch o.outputType {
	case "stream":
		m["name"] = o.name
		m["text"] = splitLines(string(o.text))
	case "display_data", "execute_result":
		m["data"] = encodeBundle(o.data)
		md := o.metadata
		if md == nil {
			md = map[string]any{}
		}
		m["metadata"] = md
		if o.outputType == "execute_result" {
			m["execution_count"] = o.executionCount
		}
	case "error":
		m["ename"] = o.ename
		m["evalue"] = o.evalue
		tb := o.traceback
		if tb == nil {
			tb = []string{}
		}
		m["traceback"] = tb
	}
	return m
}

// encodeBundle turns a MIME bundle into nbformat's mimebundle: text types
// split into lines, binary data base64-encoded, JSON types left as values.
func encodeBundle(b protocol.Bundle) map[string]any {
	m := make(map[string]any, len(b))
	for mime, v := range b {
		switch v := v.(type) {
		case string:
			if isJSONMime(mime) {
				// A JSON type given as text: store the value it holds.
				var x any
				if json.Unmarshal([]byte(v), &x) == nil {
					m[mime] = x
					continue
				}
				m[mime] = v
			} else if isSplitMime(mime) {
				m[mime] = splitLines(v)
			} else {
				m[mime] = v
			}
		case []byte:
			if isJSONMime(mime) && json.Valid(v) {
				m[mime] = json.RawMessage(v)
			} else if isSplitMime(mime) {
				m[mime] = splitLines(string(v))
			} else {
				m[mime] = base64.StdEncoding.EncodeToString(v)
			}
		default:
			// Any other value is stored as JSON, if it can be.
			if _, err := json.Marshal(v); err != nil {
				m[mime] = fmt.Sprint(v)
			} else {
				m[mime] = v
			}
		}
	}
	return m
}

// isJSONMime reports whether data of this type is stored as a JSON value.
func isJSONMime(mime string) bool {
	return mime == "application/json" ||
		strings.HasPrefix(mime, "application/") && strings.HasSuffix(mime, "+json")
}

// isSplitMime reports whether data of this type is stored as a list of
// lines, as nbformat writes it.
func isSplitMime(mime string) bool {
	return strings.HasPrefix(mime, "text/") || mime == "image/svg+xml" || mime == "application/javascript"
}
