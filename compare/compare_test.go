package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/perfnb/perfnb/magics/record"
)

var testEnv = record.Environment{Go: "go1.26.8", GOOS: "linux", GOARCH: "amd64", CPU: "Test CPU", GOMAXPROCS: 2, NumCPU: 2}

// rec is a %timeit record of one cell with the given per-loop times.
func rec(cell int, source, label string, times ...float64) record.Record {
	r := record.Result{Label: label, Iterations: 100}
	r.Add("sec/op", times...)
	return record.Record{Magic: "timeit", Source: source, Cell: cell, Clock: "wall", Results: []record.Result{r}, Environment: testEnv}
}

func scaled(k float64, xs ...float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = k * x
	}
	return out
}

var base = []float64{1.00, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97}

func TestVerdicts(t *testing.T) {
	o := Options{Threshold: 0.25, Alpha: 0.01}
	tests := []struct {
		name     string
		old, new []float64
		want     Verdict
	}{
		{"same", base, scaled(1.001, base...), Same},
		{"slower within the threshold", base, scaled(1.1, base...), Same},
		{"much slower", base, scaled(3, base...), Regression},
		{"much faster", base, scaled(0.5, base...), Improvement},
		{"one run each", base[:1], scaled(10, base[:1]...), TooFew},
		{"three runs each", base[:3], scaled(10, base[:3]...), TooFew},
		{"noisy", base, []float64{0.5, 3, 0.7, 2, 1, 0.9, 1.5}, Same},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := []Entry{{CellID: "a", Record: rec(3, "%timeit f()", "", tt.old...)}}
			new := []Entry{{CellID: "a", Record: rec(3, "%timeit f()", "", tt.new...)}}
			rep := Compare(old, new, o)
			if len(rep.Rows) != 1 {
				t.Fatalf("%d rows", len(rep.Rows))
			}
			if got := rep.Rows[0].Verdict; got != tt.want {
				t.Errorf("verdict %v, want %v (row %+v)", got, tt.want, rep.Rows[0])
			}
			var out bytes.Buffer
			if err := rep.WriteText(&out, "old.ipynb", "new.ipynb", o); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if (tt.want == Regression) != strings.Contains(text, "REGRESSION") {
				t.Errorf("text:\n%s", text)
			}
			if tt.want == TooFew && !strings.Contains(text, "too few runs to test: need 5 or more in each notebook at alpha 0.01") {
				t.Errorf("text does not say too few runs:\n%s", text)
			}
		})
	}
}

func TestCanDiffer(t *testing.T) {
	// The smallest two-sided p-value of the U test is 2/C(n1+n2, n1).
	for _, tt := range []struct {
		n1, n2 int
		alpha  float64
		want   bool
	}{{3, 3, 0.05, false}, {4, 4, 0.05, true}, {4, 4, 0.01, false}, {5, 5, 0.01, true}, {1, 100, 0.05, true}, {1, 30, 0.05, false}, {0, 9, 0.5, false}} {
		if got := canDiffer(tt.n1, tt.n2, tt.alpha); got != tt.want {
			t.Errorf("canDiffer(%d, %d, %g) = %v", tt.n1, tt.n2, tt.alpha, got)
		}
	}
}

func TestMatching(t *testing.T) {
	old := []Entry{
		{CellID: "c1", Record: rec(2, "%timeit f()", "", base...)},
		{CellID: "c1", Index: 1, Record: rec(2, "%timeit f()", "", scaled(5, base...)...)},
		{CellID: "c2", Record: rec(3, "%timeit g()", "", base...)},
		{CellID: "gone", Record: rec(4, "%timeit h()", "", base...)},
	}
	new := []Entry{
		// Same cells, ids regenerated: matched by source, in order.
		{CellID: "x1", Record: rec(2, "%timeit f()", "", base...)},
		{CellID: "x1", Index: 1, Record: rec(2, "%timeit f()", "", scaled(5, base...)...)},
		// Same cell id, edited source: matched by the cell.
		{CellID: "c2", Record: rec(3, "%timeit g2()", "", base...)},
		{CellID: "added", Record: rec(5, "%timeit k()", "", base...)},
	}
	rep := Compare(old, new, Options{Threshold: 0.1, Alpha: 0.05})
	if len(rep.Rows) != 3 || rep.Matched != 3 || len(rep.Regressions()) != 0 {
		t.Errorf("rows %+v", rep.Rows)
	}
	if strings.Join(rep.OnlyOld, ",") != "In4/timeit" || strings.Join(rep.OnlyNew, ",") != "In5/timeit" {
		t.Errorf("only old %v, only new %v", rep.OnlyOld, rep.OnlyNew)
	}
}

func TestEnvironmentDifferences(t *testing.T) {
	r := rec(2, "%timeit f()", "", base...)
	other := r
	other.Environment.Go, other.Environment.GOMAXPROCS = "go1.25.0", 8
	rep := Compare([]Entry{{Record: r}}, []Entry{{Record: other}}, Options{Threshold: 0.1, Alpha: 0.05})
	var out bytes.Buffer
	rep.WriteText(&out, "a", "b", Options{Threshold: 0.1, Alpha: 0.05})
	for _, want := range []string{"warning: the environments differ", "Go version: go1.26.8 (old) vs go1.25.0 (new)", "GOMAXPROCS: 2 (old) vs 8 (new)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// notebookJSON is a notebook whose cells hold the given outputs.
func notebookJSON(t *testing.T, outputs ...any) string {
	t.Helper()
	var cells []any
	for i, o := range outputs {
		cells = append(cells, map[string]any{"cell_type": "code", "id": string(rune('a' + i)), "metadata": map[string]any{},
			"source": "", "execution_count": i + 1, "outputs": []any{o}})
	}
	b, err := json.Marshal(map[string]any{"nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{}, "cells": cells})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func display(data map[string]any) map[string]any {
	return map[string]any{"output_type": "display_data", "metadata": map[string]any{}, "data": data}
}

func TestReadNotebook(t *testing.T) {
	r := rec(1, "%timeit f()", "", base...)
	asText, _ := json.Marshal(r)
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		n       int
		err     string
	}{
		{"records as objects and as text", notebookJSON(t, display(map[string]any{record.MIMEType: r, "text/plain": "x"}),
			map[string]any{"output_type": "stream", "name": "stdout", "text": "hi"},
			display(map[string]any{record.MIMEType: string(asText)})), 2, ""},
		{"corrupt JSON", `{"nbformat": 4, "cells": [`, 0, "not a notebook: invalid JSON"},
		{"not a notebook", `{"cells": []}`, 0, "not an nbformat 4 notebook"},
		{"no results", notebookJSON(t, display(map[string]any{"text/plain": "x"})), 0, "the notebook holds no perfnb results"},
		{"a broken result", notebookJSON(t, display(map[string]any{record.MIMEType: map[string]any{"magic": 3}})), 0, "cell 1: a result that cannot be read"},
		{"missing file", "", 0, "cannot read the notebook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".ipynb")
			if tt.content != "" {
				os.WriteFile(path, []byte(tt.content), 0o644)
			}
			got, err := ReadNotebook(path)
			if tt.err != "" {
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want an InputError with %q", err, tt.err)
				}
				return
			}
			if err != nil || len(got) != tt.n || got[1].CellID != "c" || len(got[1].Record.Results[0].Metrics[0].Values) != 7 {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}

func TestWriteBench(t *testing.T) {
	old := Notebook{Path: "old.ipynb", Entries: []Entry{{Record: rec(2, "%timeit f()", "", base...)}}}
	new := Notebook{Path: "new.ipynb", Entries: []Entry{{Record: rec(2, "%timeit f()", "", scaled(2, base...)...)}}}
	var buf bytes.Buffer
	if err := WriteBench(&buf, old, new); err != nil {
		t.Fatal(err)
	}
	r := benchfmt.NewReader(&buf, "bench")
	count := map[string]int{}
	for r.Scan() {
		if res, ok := r.Result().(*benchfmt.Result); ok {
			count[res.GetConfig("notebook")]++
		}
	}
	if count["old.ipynb"] != 7 || count["new.ipynb"] != 7 {
		t.Errorf("results per notebook %v", count)
	}
}
