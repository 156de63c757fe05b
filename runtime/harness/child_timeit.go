package harness

// The %timeit side of the child. The generated test file holds
//
//	func TestPerfnbTimeit(t *testing.T) {
//		harness.Timeit(t, map[string]func(*testing.B){"Cell": BenchmarkCell})
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
// Each run prints one line that golang.org/x/perf/benchfmt reads, on the
// original standard output:
//
//	BenchmarkCell-2	20000000	12.5 ns/op	0 B/op	0 allocs/op

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
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

// Timeit runs the plan in TimeitPlanEnv over benches; without the
// variable it does nothing.
func Timeit(t *testing.T, benches map[string]func(*testing.B)) {
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
	out := os.Stdout // the cell's output goes elsewhere (RedirectStdout)
	loops := append([]int(nil), plan.Loops...)
	for i, name := range plan.Benchmarks {
		if benches[name] == nil {
			t.Fatalf("no benchmark %s", name)
		}
		if loops[i] > 0 {
			continue
		}
		n, ok := calibrate(benches[name], plan.Target)
		if !ok {
			return // no line: the parent says the benchmark stopped early
		}
		loops[i] = n
	}
	for r := range plan.Repeat {
		for j := range plan.Benchmarks {
			i := (j + r) % len(plan.Benchmarks)
			name := plan.Benchmarks[i]
			res, ok := runFixed(benches[name], loops[i])
			if !ok {
				return
			}
			fmt.Fprintf(out, "Benchmark%s-%d\t%d\t%s ns/op\t%d B/op\t%d allocs/op\n", name, runtime.GOMAXPROCS(0),
				res.N, strconv.FormatFloat(float64(res.T.Nanoseconds())/float64(res.N), 'g', -1, 64),
				res.AllocedBytesPerOp(), res.AllocsPerOp())
		}
	}
}

// runFixed runs f for exactly n loops with testing.Benchmark. It reports
// false when the benchmark did not return (runtime.Goexit, b.SkipNow,
// b.FailNow) or timed nothing.
func runFixed(f func(*testing.B), n int) (testing.BenchmarkResult, bool) {
	if err := flag.Set("test.benchtime", strconv.Itoa(n)+"x"); err != nil {
		panic(err) // testing's flags are registered before tests run
	}
	returned := false
	res := testing.Benchmark(func(b *testing.B) {
		f(b)
		returned = !b.Failed() && !b.Skipped()
	})
	return res, returned && res.N > 0
}

// calibrate chooses the loop count of f the way IPython's autorange does,
// in the process that measures: a warm-up run of one loop (kept when it
// alone lasts the target), then runs of growing loop counts until one
// lasts calibrationRun of the target, whose time per loop gives the count
// (AutoLoops).
func calibrate(f func(*testing.B), target float64) (int, bool) {
	res, ok := runFixed(f, 1)
	if !ok {
		return 0, false
	}
	if res.T.Seconds() >= target {
		return 1, true
	}
	n := 1
	for {
		// Grow toward the calibration time with 20% to spare, at least
		// by one loop and at most a hundredfold, as go test does.
		next := 100 * n
		if sec := res.T.Seconds(); sec > 0 {
			next = int(float64(n) * 1.2 * calibrationRun * target / sec)
		}
		n = min(max(next, n+1), 100*n)
		if res, ok = runFixed(f, n); !ok {
			return 0, false
		}
		if sec := res.T.Seconds(); sec >= calibrationRun*target || n >= 1e9 {
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
