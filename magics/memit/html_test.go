package memit

import (
	"flag"
	"testing"
	"time"

	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/harness"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestHTMLGolden(t *testing.T) {
	r := &Result{Peak: 80 * mib, Increment: 64 * mib, Baseline: 16 * mib, HeapPeak: 66 * mib, HeapBaseline: 2 * mib,
		Allocated: 64 * mib, Objects: 1234567, GCCycles: 2, GCPause: 123456 * time.Nanosecond, Wall: 41 * time.Millisecond,
		Method: "hwm", Repeat: 3, Note: "a <note>",
		Environment: record.Environment{Go: "go1.26.8", GOOS: "linux", GOARCH: "amd64", Build: map[string]string{"GOAMD64": "v1"},
			CPU: "Test CPU", GOMAXPROCS: 2, NumCPU: 2, LoadAvg: []float64{1.5}, Perfnb: "0.1.0"}}
	for name, got := range map[string]string{"result.html": r.HTML(), "failure.html": (&Result{}).HTML()} {
		magicstest.Golden(t, name, got, *update)
	}
}

func TestRecordSkipsFailedRuns(t *testing.T) {
	reports := []harness.MemReport{
		{Peak: 30 * mib, Baseline: 10 * mib, Allocated: 1000, Objects: 10},
		{Peak: 0},
		{Peak: 99 * mib, LimitExceeded: true},
		{Peak: 32 * mib, Baseline: 10 * mib, Allocated: 1000, Objects: 10},
	}
	r := newResult(reports, options{repeat: 4}).record()
	peaks, _ := r.Metric(peakUnit)
	incs, _ := r.Metric(incrementUnit)
	allocs, _ := r.Metric("allocs/op")
	if len(peaks) != 2 || peaks[1] != 32*mib || len(incs) != 2 || incs[0] != 20*mib || len(allocs) != 2 || r.Iterations != 1 {
		t.Errorf("record %+v", r)
	}
}
