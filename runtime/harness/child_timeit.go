package harness

// The %timeit side of the child. The generated test file holds
//
//	func TestPerfnbTimeit(t *testing.T) {
//		harness.Timeit(t, testing.Benchmark, map[string]func(*testing.B){"Cell": BenchmarkCell})
//	}
//
// and the parent runs the binary with -test.run=^TestPerfnbTimeit$ and a
// TimeitPlan in the environment variable TimeitPlanEnv. Everything happens
// in this one process, as in IPython, where autorange and the timed runs
// share the interpreter: a warm-up run, the calibration (loop counts grown
// until a run lasts long enough), then Repeat runs of the chosen count per
// benchmark, interleaved. Each run is testing.Benchmark with a fixed
// -test.benchtime=Nx, the machinery of go test -bench: the same timer, the
// same collection before the run, the same B/op and allocs/op (bytes and
// allocations of the run divided by N, rounded down).
//
// Each run prints one line, as go test -bench -benchmem does (metrics the
// benchmark reports, such as %timeit -c's CPU time, included), on the
// original standard output, for golang.org/x/perf/benchfmt:
//
//	BenchmarkCell-2	20000000	12.5 ns/op	0 B/op	0 allocs/op
//
// The package does not import testing (the kernel imports it for its
// constants): Timeit is generic over testing's B and BenchmarkResult.

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

// TimeitPlanEnv names the environment variable that holds the JSON
// TimeitPlan of a %timeit child.
const TimeitPlanEnv = "PERFNB_TIMEIT"

// TimeitTest is the name of the generated test that runs a TimeitPlan.
const TimeitTest = "TestPerfnbTimeit"

// TimeitPlan says what a %timeit child measures.
type TimeitPlan struct {
	// Benchmarks are the names of the benchmarks, without the Benchmark
	// prefix, in the order of the first round.
	Benchmarks []string `json:"benchmarks"`
	// Loops are the loop counts, one per benchmark; 0 chooses it with
	// AutoLoops after a warm-up.
	Loops []int `json:"loops"`
	// Repeat is the number of timed runs of each benchmark.
	Repeat int `json:"repeat"`
	// Target is the time, in seconds, that one run should last at least
	// when the loop count is chosen automatically.
	Target float64 `json:"target"`
}

// calibrationRun is how long the run that gives the calibration its time
// per loop should last, at least, as a fraction of the target.
const calibrationRun = 0.1

// Fataler is what Timeit needs of a *testing.T.
type Fataler interface {
	Fatalf(format string, args ...any)
}

// BenchB is what Timeit needs of a *testing.B.
type BenchB interface {
	Failed() bool
	Skipped() bool
	Elapsed() time.Duration
}

// BenchResult is what Timeit needs of a testing.BenchmarkResult.
type BenchResult interface {
	String() string    // "N  t ns/op" and the reported metrics
	MemString() string // "b B/op  a allocs/op"
}

// Timeit runs the plan in TimeitPlanEnv over benches with bench
// (testing.Benchmark); without the variable it does nothing.
func Timeit[B BenchB, R BenchResult](t Fataler, bench func(func(B)) R, benches map[string]func(B)) {
	raw := os.Getenv(TimeitPlanEnv)
	if raw == "" {
		return
	}
	var plan TimeitPlan
	if err := json.Unmarshal([]byte(raw), &plan); err != nil {
		t.Fatalf("reading %s: %v", TimeitPlanEnv, err)
	}
	if len(plan.Loops) != len(plan.Benchmarks) || plan.Repeat < 1 {
		t.Fatalf("%s: a loop count per benchmark and at least one run are needed", TimeitPlanEnv)
	}
	for _, name := range plan.Benchmarks {
		if benches[name] == nil {
			t.Fatalf("no benchmark %s", name)
		}
	}
	run := func(name string, n int) (R, time.Duration, bool) {
		return runFixed(bench, benches[name], n)
	}
	out := os.Stdout // the cell's output goes elsewhere (RedirectStdout)
	loops := append([]int(nil), plan.Loops...)
	for i, name := range plan.Benchmarks {
		if loops[i] > 0 {
			continue
		}
		n, ok := calibrate(func(n int) (time.Duration, bool) {
			_, d, ok := run(name, n)
			return d, ok
		}, plan.Target)
		if !ok {
			return // no line: the parent says the benchmark stopped early
		}
		loops[i] = n
	}
	for r := range plan.Repeat {
		for j := range plan.Benchmarks {
			i := (j + r) % len(plan.Benchmarks)
			res, _, ok := run(plan.Benchmarks[i], loops[i])
			if !ok {
				return
			}
			fmt.Fprintf(out, "Benchmark%s-%d\t%s\t%s\n", plan.Benchmarks[i], runtime.GOMAXPROCS(0), res.String(), res.MemString())
		}
	}
}

// runFixed runs f for exactly n loops with bench (testing.Benchmark). It
// returns the result, the time its timer measured (the loop's, not the
// setup's) and whether the benchmark
// function returned (not after runtime.Goexit, b.SkipNow or b.FailNow).
func runFixed[B BenchB, R BenchResult](bench func(func(B)) R, f func(B), n int) (R, time.Duration, bool) {
	if err := flag.Set("test.benchtime", strconv.Itoa(n)+"x"); err != nil {
		panic(err) // testing's flags are registered before tests run
	}
	returned := false
	var elapsed time.Duration
	res := bench(func(b B) {
		f(b)
		elapsed, returned = b.Elapsed(), !b.Failed() && !b.Skipped()
	})
	return res, elapsed, returned
}

// calibrate chooses the loop count the way IPython's autorange does, in
// the process that measures: run(n) runs n loops and returns their time.
// A warm-up run of one loop, then runs of growing loop counts until one
// lasts calibrationRun of the target, whose time per loop gives the count
// (AutoLoops). A warm-up that lasts the target is run once more, so that
// one-time work (a sync.Once, a cache filled on first use) does not make
// a fast body run one loop at a time.
func calibrate(run func(n int) (time.Duration, bool), target float64) (int, bool) {
	d, ok := run(1)
	if !ok {
		return 0, false
	}
	if d.Seconds() >= target {
		if d, ok = run(1); !ok {
			return 0, false
		}
		if d.Seconds() >= target {
			return 1, true
		}
	}
	n := 1
	for {
		// Grow toward the calibration time with 20% to spare, at least
		// by one loop and at most a hundredfold, as go test does.
		next := 100 * n
		if sec := d.Seconds(); sec > 0 {
			next = int(float64(n) * 1.2 * calibrationRun * target / sec)
		}
		n = min(max(next, n+1), 100*n)
		if d, ok = run(n); !ok {
			return 0, false
		}
		if sec := d.Seconds(); sec >= calibrationRun*target || n >= 1e9 {
			return AutoLoops(sec/float64(n), target), true
		}
	}
}

// AutoLoops is the smallest loop count of the series 1, 1.5, 2, 2.5, 3,
// 4, 5, 6, 8 × 10^k (whole numbers only) for which a run lasts at least
// target seconds, given the time of one loop. The steps are finer than
// IPython's 1, 2, 5 × 10^k so that a run lasts 1 to 1.5 times the target.
func AutoLoops(secPerOp, target float64) int {
	steps := []int{10, 15, 20, 25, 30, 40, 50, 60, 80} // tenths
	for n := 1; n <= 1e10; n *= 10 {
		for _, m := range steps {
			if m*n%10 != 0 {
				continue
			}
			if c := m * n / 10; float64(c)*secPerOp >= target*(1-1e-9) {
				return c
			}
		}
	}
	return 1e10
}
