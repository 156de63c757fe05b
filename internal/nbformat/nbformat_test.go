package nbformat

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSplitLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"a", []string{"a"}},
		{"a\n", []string{"a\n"}},
		{"a\nb", []string{"a\n", "b"}},
		{"a\n\nb\n", []string{"a\n", "\n", "b\n"}},
	}
	for _, tt := range tests {
		if got := SplitLines(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

const small = `{"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "perfnb"}}, "x_top": 1, "cells": [
 {"cell_type": "markdown", "id": "m", "metadata": {}, "source": ["# a\n", "b"]},
 {"cell_type": "code", "id": "c", "metadata": {"tags": ["parameters"]}, "execution_count": 3, "source": "n := 1",
  "outputs": [{"output_type": "stream", "name": "stdout", "text": "hi"}], "x_cell": true}]}`

func TestParse(t *testing.T) {
	d, err := Parse([]byte(small))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Cells) != 2 || d.Cells[0].Source != "# a\nb" || d.Cells[1].ExecutionCount != 3 || len(d.Cells[1].Outputs) != 1 ||
		!d.Cells[1].HasTag("parameters") || d.Cells[0].HasTag("parameters") {
		t.Fatalf("parsed %+v", d.Cells)
	}
	b, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"x_top": 1`, `"x_cell": true`, `"nbformat_minor": 5`, "\"source\": [\n    \"# a\\n\",\n    \"b\"\n   ]"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("encoded notebook lacks %q:\n%s", want, b)
		}
	}
}

// endless is a notebook that never ends: an opening, then spaces forever.
type endless struct{ begun bool }

func (e *endless) Read(p []byte) (int, error) {
	if !e.begun {
		e.begun = true
		return copy(p, `{"nbformat": 4, "cells": [`), nil
	}
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name  string
		r     io.Reader
		limit int64
		want  string
	}{
		{"endless input", &endless{}, 1 << 20, "larger than 1 MiB, the most perfnb reads"},
		{"zero bytes", io.LimitReader(zeros{}, 1<<30), 1 << 20, "invalid JSON: invalid character '\\x00'"},
		{"just over the limit", strings.NewReader(small + " "), int64(len(small)), "larger than"},
		{"truncated", strings.NewReader(small[:40]), 1 << 20, "the file ends before the notebook does"},
		{"trailing data", strings.NewReader(small + "{}"), 1 << 20, "invalid JSON"},
		{"not an object", strings.NewReader(`[1]`), 1 << 20, "invalid JSON"},
		{"null", strings.NewReader(`null`), 1 << 20, "not a JSON object"},
		{"no nbformat", strings.NewReader(`{"cells": []}`), 1 << 20, "no nbformat field"},
		{"nbformat 3", strings.NewReader(`{"nbformat": 3}`), 1 << 20, "nbformat 3 is not supported"},
		{"a bad cell", strings.NewReader(`{"nbformat": 4, "cells": [{"cell_type": "code", "source": 3}]}`), 1 << 20, "cell 1: source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(tt.r, tt.limit)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := decode(strings.NewReader(small+"\n\n"), int64(len(small)+2)); err != nil {
		t.Errorf("a notebook of exactly the limit, ending in new lines: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestReadRefusesDevices(t *testing.T) {
	link := filepath.Join(t.TempDir(), "zero.ipynb")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(link); err == nil || !strings.Contains(err.Error(), "is a device, not a notebook file") {
		t.Errorf("Read of a link to /dev/zero: %v", err)
	}
}

func TestEnsureIDs(t *testing.T) {
	d, _ := Parse([]byte(`{"nbformat": 4, "cells": [{"cell_type": "code", "id": "a"}, {"cell_type": "code", "id": "a"},
		{"cell_type": "code", "id": "bad id!"}, {"cell_type": "code"}]}`))
	if err := d.EnsureIDs(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range d.Cells {
		if !cellIDPattern.MatchString(c.ID) || seen[c.ID] {
			t.Errorf("id %q", c.ID)
		}
		seen[c.ID] = true
	}
	if d.Cells[0].ID != "a" {
		t.Errorf("a valid id was changed: %q", d.Cells[0].ID)
	}
}
