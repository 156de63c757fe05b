package runner

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/perfnb/perfnb/internal/nbformat"
	"github.com/perfnb/perfnb/kernel/protocol"
)

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

// encodeOutputs returns outs as nbformat output objects.
func encodeOutputs(outs []*output) ([]json.RawMessage, error) {
	enc := make([]json.RawMessage, 0, len(outs))
	for _, o := range outs {
		b, err := nbformat.Marshal(o.encode())
		if err != nil {
			return nil, fmt.Errorf("cannot encode an output: %w", err)
		}
		enc = append(enc, b)
	}
	return enc, nil
}

func (o *output) encode() map[string]any {
	m := map[string]any{"output_type": o.outputType}
	switch o.outputType {
	case "stream":
		m["name"] = o.name
		m["text"] = nbformat.SplitLines(string(o.text))
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
				m[mime] = nbformat.SplitLines(v)
			} else {
				m[mime] = v
			}
		case []byte:
			if isJSONMime(mime) && json.Valid(v) {
				m[mime] = json.RawMessage(v)
			} else if isSplitMime(mime) {
				m[mime] = nbformat.SplitLines(string(v))
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
