package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/perfnb/perfnb/magics/record"
)

var testEnv = record.Environment{Go: "go1.26.8", GOOS: "linux", GOARCH: "amd64", CPU: "Test CPU", GOMAXPROCS: 2, NumCPU: 2, LoadAvg: []float64{0.5, 0.5, 0.5}}

// rec is a %timeit record of one cell with the given per-loop times.
func rec(cell int, source, label string, times ...float64) record.Record {
	r := record.Result{Label: label, Iterations: 100}
	r.Add("sec/op", times...)
	return record.Record{Magic: "timeit", Source: source, Cell: cell, Clock: "wall", Results: []record.Result{r}, Environment: testEnv}
}

// memRec is a %memit record with the given figures of each run.
func memRec(source, unit string, values ...float64) record.Record {
	r := record.Result{Iterations: 1}
	r.Add(unit, values...)
	return record.Record{Magic: "memit", Source: source, Results: []record.Result{r}, Environment: testEnv}
}

func scaled(k float64, xs ...float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = k * x
	}
	return out
}

var base = []float64{1.00, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97}

// compareOne compares one record with another as the only results of
// two notebooks and returns the one row, and the text report.
func compareOne(t *testing.T, old, new record.Record, o Options) (Row, string) {
	t.Helper()
	rep := Compare([]Entry{{Cell: 3, Record: old}}, []Entry{{Cell: 3, Record: new}}, o)
	if len(rep.Rows) != 1 {
		t.Fatalf("%d rows: %+v", len(rep.Rows), rep.Rows)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out, "old.ipynb", "new.ipynb", o); err != nil {
		t.Fatal(err)
	}
	return rep.Rows[0], out.String()
}

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
			row, text := compareOne(t, rec(3, "%timeit f()", "", tt.old...), rec(3, "%timeit f()", "", tt.new...), o)
			if row.Verdict != tt.want || row.Name != "%timeit f()" {
				t.Errorf("verdict %v, want %v (row %+v)", row.Verdict, tt.want, row)
			}
			if (tt.want == Regression) != strings.Contains(text, "REGRESSION") {
				t.Errorf("text:\n%s", text)
			}
			if tt.want == TooFew && !strings.Contains(text, "too few runs to test: need 5 or more in each notebook at alpha 0.01") {
				t.Errorf("text does not say too few runs:\n%s", text)
			}
		})
	}
}

// TestMemoryFloors: a memory figure that changes by less than the
// measurement resolves is never a regression, however significant, and
// a change from 0 is an amount, not a percentage.
func TestMemoryFloors(t *testing.T) {
	o := Options{Threshold: 0.25, Alpha: 0.01}
	zeros := make([]float64, 10)
	tests := []struct {
		name      string
		old, new  record.Record
		want      Verdict
		wantText  string
		wantDelta bool // Delta is a number (not NaN)
	}{
		{"RSS from 0 to 96 KiB", memRec("%memit nop()", "increment-RSS-B", zeros...),
			memRec("%memit nop()", "increment-RSS-B", 98304, 98304, 98304, 98304, 98304, 98304, 98304, 98304, 98304, 98304),
			Same, "+96.00Ki increment-RSS-B (p=", false},
		{"RSS from 0 to 8 MiB", memRec("%memit grow()", "increment-RSS-B", zeros...),
			memRec("%memit grow()", "increment-RSS-B", scaled(8<<20, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)...), Regression, "+8.000Mi increment-RSS-B", false},
		{"the harness's own objects", memRec("%memit nop()", "allocs/op", 14, 14, 14, 14, 14, 16, 14, 14, 14, 14),
			memRec("%memit nop()", "allocs/op", 28, 23, 28, 22, 23, 28, 23, 28, 23, 28), Same, "below what the measurement resolves", true},
		{"a new allocation per op", timeitAllocs(0), timeitAllocs(1), Regression, "REGRESSION", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row, text := compareOne(t, tt.old, tt.new, o)
			if row.Verdict != tt.want || !strings.Contains(text, tt.wantText) || math.IsNaN(row.Delta) == tt.wantDelta {
				t.Errorf("verdict %v, want %v; delta %v:\n%s", row.Verdict, tt.want, row.Delta, text)
			}
			if strings.Contains(text, "%") && strings.Contains(text, "Inf") {
				t.Errorf("a percentage from 0:\n%s", text)
			}
		})
	}
}

// timeitAllocs is a %timeit record of 10 runs of 1000 loops with the
// given allocations per loop.
func timeitAllocs(n float64) record.Record {
	r := rec(2, "%timeit f()", "", base...)
	r.Results[0].Iterations = 1000
	r.Results[0].Add("allocs/op", n, n, n, n, n, n, n, n, n, n)
	r.Results[0].Metrics = r.Results[0].Metrics[1:]
	return r
}

// TestInconclusiveTimings: timings of environments that differ, or of a
// busy machine, are inconclusive with the reason; memory figures of the
// same records are still judged.
func TestInconclusiveTimings(t *testing.T) {
	o := Options{Threshold: 0.25, Alpha: 0.01}
	tests := []struct {
		name   string
		change func(*record.Environment)
		why    string
	}{
		{"Go version", func(e *record.Environment) { e.Go = "go1.25.0" }, "Go version: go1.26.8 (old) vs go1.25.0 (new)"},
		{"GOMAXPROCS", func(e *record.Environment) { e.GOMAXPROCS = 1 }, "GOMAXPROCS: 2 (old) vs 1 (new)"},
		{"CPU", func(e *record.Environment) { e.CPU = "Other CPU" }, "CPU: Test CPU (old) vs Other CPU (new)"},
		{"busy machine", func(e *record.Environment) { e.LoadAvg = []float64{2.5} }, "the machine was busy when the new results were measured (load average 2.50 on 2 CPUs)"},
		{"load differs", func(e *record.Environment) { e.LoadAvg = []float64{1.6} }, "the machine's load differed: load average 0.50 (old) vs 1.60 (new)"},
		{"same environment", func(e *record.Environment) { e.LoadAvg = []float64{1.2} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := rec(2, "%timeit f()", "", base...)
			old.Results[0].Add("B/op", 0, 0, 0, 0, 0, 0, 0)
			new := rec(2, "%timeit f()", "", scaled(3, base...)...)
			new.Results[0].Add("B/op", 1024, 1024, 1024, 1024, 1024, 1024, 1024)
			tt.change(&new.Environment)
			rep := Compare([]Entry{{Record: old}}, []Entry{{Record: new}}, o)
			var out bytes.Buffer
			rep.WriteText(&out, "a", "b", o)
			if len(rep.Rows) != 2 || rep.Rows[1].Verdict != Regression {
				t.Fatalf("rows %+v", rep.Rows)
			}
			timing := rep.Rows[0]
			if tt.why == "" {
				if timing.Verdict != Regression {
					t.Errorf("timing %v in one environment:\n%s", timing.Verdict, out.String())
				}
				return
			}
			if timing.Verdict != Inconclusive || !strings.Contains(out.String(), "inconclusive timings: "+tt.why) {
				t.Errorf("timing %v:\n%s", timing.Verdict, out.String())
			}
		})
	}
}

func TestMatching(t *testing.T) {
	old := []Entry{
		{CellID: "c1", Cell: 2, Record: rec(2, "%timeit f()", "", base...)},
		{CellID: "c1", Cell: 2, Index: 1, Record: rec(2, "%timeit -c f()", "", scaled(5, base...)...)},
		{CellID: "c2", Cell: 3, Record: rec(3, "%timeit g()", "", base...)},
		{CellID: "gone", Cell: 4, Record: rec(4, "%timeit h()", "", base...)},
	}
	new := []Entry{
		// The same results, after a cell added before them (their
		// numbers and places moved): matched by name.
		{CellID: "x1", Cell: 3, Record: rec(3, "%timeit f()", "", base...)},
		{CellID: "x1", Cell: 3, Index: 1, Record: rec(3, "%timeit -c f()", "", scaled(5, base...)...)},
		// g renamed g2 in place: matched by its place.
		{CellID: "c2", Cell: 3, Record: rec(3, "%timeit g2()", "", base...)},
		{CellID: "added", Cell: 5, Record: rec(5, "%timeit k()", "", base...)},
	}
	new[2].Cell = 3
	old[2].Cell = 3
	rep := Compare(old, new, Options{Threshold: 0.1, Alpha: 0.05})
	if len(rep.Rows) != 3 || rep.Matched != 3 || len(rep.Regressions()) != 0 {
		t.Errorf("rows %+v", rep.Rows)
	}
	if strings.Join(rep.OnlyOld, ",") != "%timeit h()" || strings.Join(rep.OnlyNew, ",") != "%timeit k()" ||
		strings.Join(rep.Renamed, ",") != "%timeit g() → %timeit g2()" {
		t.Errorf("only old %v, only new %v, renamed %v", rep.OnlyOld, rep.OnlyNew, rep.Renamed)
	}
	if rep.Rows[1].Name != "%timeit f()#01" {
		t.Errorf("the second f() is named %q", rep.Rows[1].Name)
	}
}

// notebookJSON is a notebook whose cells hold the given outputs; a nil
// output makes a cell of injected parameters.
func notebookJSON(t *testing.T, outputs ...any) string {
	t.Helper()
	var cells []any
	for i, o := range outputs {
		c := map[string]any{"cell_type": "code", "id": string(rune('a' + i)), "metadata": map[string]any{},
			"source": "", "execution_count": i + 1, "outputs": []any{}}
		if o == nil {
			c["metadata"] = map[string]any{"tags": []string{"injected-parameters"}}
		} else {
			c["outputs"] = []any{o}
		}
		cells = append(cells, c)
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

func TestRead(t *testing.T) {
	r := rec(1, "%timeit f()", "", base...)
	asText, _ := json.Marshal(r)
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		n       int
		err     string
	}{
		{"records as objects and as text, after injected parameters", notebookJSON(t, nil, display(map[string]any{record.MIMEType: r, "text/plain": "x"}),
			map[string]any{"output_type": "stream", "name": "stdout", "text": "hi"},
			display(map[string]any{record.MIMEType: string(asText)})), 2, ""},
		{"corrupt JSON", `{"nbformat": 4, "cells": [`, 0, "invalid JSON"},
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
			got, err := Read(path)
			if tt.err != "" {
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want an InputError with %q", err, tt.err)
				}
				return
			}
			if err != nil || len(got.Entries) != tt.n {
				t.Fatalf("got %+v, %v", got, err)
			}
			e := got.Entries[1]
			if e.CellID != "d" || e.Cell != 3 || len(e.Record.Results[0].Metrics[0].Values) != 7 {
				t.Errorf("entry %+v: want cell d, the third code cell without the injected one", e)
			}
		})
	}
}

func TestWriteBench(t *testing.T) {
	old := &NotebookResults{Path: "old.ipynb", Entries: []Entry{{Record: rec(2, "%timeit f()", "", base...)}}}
	new := &NotebookResults{Path: "new.ipynb", Entries: []Entry{{Record: rec(2, "%timeit f()", "", scaled(2, base...)...)}}}
	var buf bytes.Buffer
	if err := WriteBench(&buf, old, new); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "BenchmarkTimeit/f()-2\t     100\t1000000000 ns/op\n") {
		t.Errorf("not go test's layout:\n%s", buf.String())
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
