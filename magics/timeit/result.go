package timeit

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"golang.org/x/perf/benchmath"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/record"
)

// Result is what %timeit measured, like IPython's TimeitResult. Times are in
// seconds; those per loop are the time of a run divided by its loop count.
type Result struct {
	// Label names the variant in a comparison; "" otherwise.
	Label  string
	Loops  int // loops per run
	Repeat int // number of runs
	// Best, Worst, Average and Stdev (the population standard deviation,
	// as IPython computes it) are per loop.
	Best, Worst, Average, Stdev float64
	// Timings are the per-loop times, one per run, in the order measured.
	Timings []float64
	// AllRuns are the times of each whole run.
	AllRuns []float64
	// CompileTime is the time spent building the benchmark binary.
	CompileTime float64
	// Median and its 95% confidence interval [MedianLo, MedianHi], per
	// loop, from golang.org/x/perf/benchmath (the benchstat statistics).
	Median, MedianLo, MedianHi float64
	// BytesPerOp and AllocsPerOp are the heap bytes and allocations per
	// loop, averaged over the runs (testing.B's -benchmem figures).
	BytesPerOp, AllocsPerOp float64
	// Precision is the number of significant digits shown (-p).
	Precision int
	// Clock is what the times measure: "wall" (elapsed time, the default)
	// or "cpu" (the process's CPU time, -c).
	Clock string
	// Environment is where the result was measured.
	Environment record.Environment
	// runs are the figures of each run, for the result's record.
	runs []measurement
	// statement labels the output when the cell holds other code too
	// (several %timeit lines); "" otherwise.
	statement string
}

// The clocks a Result's times are read from.
const (
	clockWall = "wall"
	clockCPU  = "cpu"
)

// sample returns the per-loop times as a benchmath sample.
func (r *Result) sample() *benchmath.Sample {
	return benchmath.NewSample(append([]float64(nil), r.Timings...), &benchmath.DefaultThresholds)
}

// measurement is one benchmark line's figures.
type measurement struct {
	secPerOp, bytesPerOp, allocsPerOp float64
	iters                             int
}

// measurements returns the figures of the runs of bench, in the order
// run. The time per loop is read in timeUnit: sec/op (wall-clock time)
// or harness.CPUUnit.
func measurements(runs []magics.BenchRun, bench, timeUnit string) []measurement {
	var out []measurement
	for _, r := range magics.BenchRuns(runs, bench) {
		sec, ok := r.Value(timeUnit)
		if !ok {
			continue
		}
		m := measurement{secPerOp: sec, iters: r.Iters}
		m.bytesPerOp, _ = r.Value("B/op")
		m.allocsPerOp, _ = r.Value("allocs/op")
		out = append(out, m)
	}
	return out
}

// summarise computes a Result from the runs of one benchmark.
func summarise(label string, runs []measurement, loops, precision int, compile float64) *Result {
	r := &Result{Label: label, Loops: loops, Repeat: len(runs), Precision: precision, CompileTime: compile, runs: runs}
	var sum, bytesSum, allocsSum float64
	for _, m := range runs {
		r.Timings = append(r.Timings, m.secPerOp)
		r.AllRuns = append(r.AllRuns, m.secPerOp*float64(loops))
		sum += m.secPerOp
		bytesSum += m.bytesPerOp
		allocsSum += m.allocsPerOp
	}
	n := float64(len(runs))
	if n == 0 {
		return r
	}
	r.Average = sum / n
	var sq float64
	for _, t := range r.Timings {
		sq += (t - r.Average) * (t - r.Average)
	}
	r.Stdev = math.Sqrt(sq / n)
	sorted := append([]float64(nil), r.Timings...)
	sort.Float64s(sorted)
	r.Best, r.Worst = sorted[0], sorted[len(sorted)-1]
	s := benchmath.AssumeNothing.Summary(r.sample(), 0.95)
	r.Median, r.MedianLo, r.MedianHi = s.Center, s.Lo, s.Hi
	r.BytesPerOp = bytesSum / n
	r.AllocsPerOp = allocsSum / n
	return r
}

// Comparison is the result of a %%timeit comparison: one Result per
// variant, fastest first.
type Comparison struct {
	Variants []*Result
}

// verdict says whether variant v differs significantly from the fastest,
// with benchmath's Mann-Whitney U test (alpha 0.05), as benchstat does:
// "p=0.002 n=7" or "~ not significant (p=0.310 n=7)".
func verdict(fastest, v *Result) string {
	c := benchmath.AssumeNothing.Compare(fastest.sample(), v.sample())
	if c.P >= c.Alpha || math.IsNaN(c.P) {
		return "~ not significant (" + c.String() + ")"
	}
	return c.String()
}

// ratio is v's mean time over the fastest's.
func ratio(fastest, v *Result) float64 {
	if fastest.Average <= 0 {
		return math.Inf(1)
	}
	return v.Average / fastest.Average
}

func formatRatio(x float64) string {
	switch {
	case math.IsInf(x, 0) || math.IsNaN(x):
		return "×?"
	case x >= 100:
		return "×" + magics.Thousands(int64(math.Round(x)))
	case x >= 10:
		return fmt.Sprintf("×%.1f", x)
	}
	return fmt.Sprintf("×%.2f", x)
}

// Text is the text/plain output of a comparison: one IPython line per
// variant, labelled, then how each compares with the fastest.
func (c *Comparison) Text() string {
	var b strings.Builder
	width := 0
	for _, v := range c.Variants {
		width = max(width, len(v.Label))
	}
	for _, v := range c.Variants {
		if w := v.Warning(); w != "" {
			fmt.Fprintf(&b, "%s: %s\n", v.Label, w)
		}
		fmt.Fprintf(&b, "%-*s %s\n", width+1, v.Label+":", v.Line())
	}
	if len(c.Variants) > 1 {
		fastest := c.Variants[0]
		fmt.Fprintf(&b, "\nfastest: %s\n", fastest.Label)
		for _, v := range c.Variants[1:] {
			fmt.Fprintf(&b, "%-*s %s slower than %s, %s\n", width+1, v.Label+":", formatRatio(ratio(fastest, v)), fastest.Label, verdict(fastest, v))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// String lists the variants' results, fastest first.
func (c *Comparison) String() string {
	var parts []string
	for _, v := range c.Variants {
		parts = append(parts, v.String())
	}
	return strings.Join(parts, "\n")
}
