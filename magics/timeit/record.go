package timeit

import (
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/harness"
)

// timeUnit is the benchmark unit of the times in r: sec/op for the
// wall clock, harness.CPUUnit for the CPU clock.
func timeUnit(clock string) string {
	if clock == clockCPU {
		return harness.CPUUnit
	}
	return "sec/op"
}

// record returns the figures of each run of r.
func (r *Result) record() record.Result {
	out := record.Result{Label: r.Label, Iterations: r.Loops}
	var bytes, allocs []float64
	for _, m := range r.runs {
		bytes = append(bytes, m.bytesPerOp)
		allocs = append(allocs, m.allocsPerOp)
	}
	out.Add(timeUnit(r.Clock), r.Timings...)
	out.Add("B/op", bytes...)
	out.Add("allocs/op", allocs...)
	return out
}
