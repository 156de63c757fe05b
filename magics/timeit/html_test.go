package timeit

import (
	"flag"
	"testing"

	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/magics/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func goldenEnv() record.Environment {
	return record.Environment{Go: "go1.26.8", GOOS: "linux", GOARCH: "amd64", Build: map[string]string{"GOAMD64": "v1"},
		CPU: "Test <CPU> & Co", GOMAXPROCS: 2, NumCPU: 4, LoadAvg: []float64{0.5, 0.4, 0.3}, Perfnb: "0.1.0"}
}

func TestHTMLGolden(t *testing.T) {
	r := &Result{Average: 29.9e-9, Stdev: 0.643e-9, Median: 29.7e-9, MedianLo: 29.5e-9, MedianHi: 30.5e-9,
		Best: 29.4e-9, Worst: 31e-9, Repeat: 7, Loops: 10000000, Precision: 3, BytesPerOp: 5.13e6, AllocsPerOp: 2,
		CompileTime: 0.51, Clock: clockWall, Environment: goldenEnv()}
	magicstest.Golden(t, "result.html", r.HTML(), *update)

	fast := &Result{Label: "<fast>", Average: 1e-6, Stdev: 1e-8, Median: 1e-6, MedianLo: 0.99e-6, MedianHi: 1.01e-6,
		Best: 0.98e-6, Worst: 1.02e-6, Timings: []float64{0.98e-6, 1e-6, 1.02e-6, 1e-6, 0.99e-6, 1.01e-6, 1e-6},
		Repeat: 7, Loops: 1000, Precision: 3, BytesPerOp: 16, AllocsPerOp: 1, CompileTime: 0.7, Clock: clockCPU, Environment: goldenEnv()}
	slow := *fast
	slow.Label, slow.Average, slow.Median = "slow", 2e-6, 2e-6
	slow.Timings = []float64{1.9e-6, 2e-6, 2.1e-6, 2e-6, 1.95e-6, 2.05e-6, 2e-6}
	magicstest.Golden(t, "comparison.html", (&Comparison{Variants: []*Result{fast, &slow}}).HTML(), *update)
}
