package magics

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// BenchRun is one result line of what a magic's child printed in Go's
// benchmark format, as golang.org/x/perf/benchfmt reads it:
//
//	BenchmarkCell-2	20000000	12.5 ns/op	0 B/op	0 allocs/op
type BenchRun struct {
	// Name is the benchmark's name without "Benchmark" and without the
	// GOMAXPROCS suffix: "Cell", "V0_fast".
	Name string
	// Procs is the GOMAXPROCS suffix (-2); 1 when the line has none.
	Procs int
	// Iters is the number of loops the line's figures are averages of.
	Iters int
	// CPU is the processor the child reported on its "cpu:" line; ""
	// when it printed none.
	CPU    string
	values []benchfmt.Value
}

// Value returns the figure in unit: "sec/op" (benchfmt's tidy unit for
// ns/op, in seconds), "ns/op" as printed, "B/op", "allocs/op", or a
// metric the benchmark reported.
func (r BenchRun) Value(unit string) (float64, bool) {
	for _, v := range r.values {
		switch unit {
		case v.Unit:
			return v.Value, true
		case v.OrigUnit:
			return v.OrigValue, true
		}
	}
	return 0, false
}

// ReadBench reads the result lines of a child's benchmark output, in the
// order printed. Other lines (the "goos:" and "PASS" lines, anything
// that is not a well-formed result) are skipped.
func ReadBench(data []byte) ([]BenchRun, error) {
	var runs []BenchRun
	r := benchfmt.NewReader(bytes.NewReader(data), "benchmark output")
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		base, parts := res.Name.Parts()
		run := BenchRun{Name: string(base), Procs: 1, Iters: res.Iters, CPU: res.GetConfig("cpu"),
			values: append([]benchfmt.Value(nil), res.Values...)}
		if len(parts) > 0 {
			if n, err := strconv.Atoi(strings.TrimPrefix(string(parts[len(parts)-1]), "-")); err == nil && n > 0 {
				run.Procs = n
			}
		}
		runs = append(runs, run)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("reading the benchmark results: %w", err)
	}
	return runs, nil
}

// BenchRuns returns the runs of the benchmark named name, in order.
func BenchRuns(runs []BenchRun, name string) []BenchRun {
	var out []BenchRun
	for _, r := range runs {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}
