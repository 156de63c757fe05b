package harness

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

var memSink []byte

// touch allocates n bytes and writes one byte per page so that every page
// becomes resident.
func touch(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

// measure runs body between MemStart and MemStop with the given method and
// returns the report.
func measure(t *testing.T, method string, interval time.Duration, body func()) MemReport {
	t.Helper()
	path := filepath.Join(t.TempDir(), "result")
	plan, err := json.Marshal(MemitPlan{Result: path, Method: method, Interval: interval})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(MemitPlanEnv, string(plan))
	// The harness reads its configuration once per process; give each
	// measurement a fresh one.
	s := memInit()
	s.mu.Lock()
	s.cfg = memConfigFromEnv()
	s.mu.Unlock()

	MemStart()
	body()
	MemStop()

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := ReadMemReports(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 {
		t.Fatalf("got %d reports, want 1: %s", len(reports), data)
	}
	return reports[0]
}

func TestMemIncrement(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("resident memory is read from /proc")
	}
	const mib = 1 << 20
	tests := []struct {
		name     string
		method   string
		interval time.Duration
		body     func()
		want     float64 // MiB of increment
		heapMin  uint64  // bytes of Go heap peak above its baseline at least
		tol      float64 // relative
	}{
		// Never touched: in the Go heap, not resident. First, so that the
		// heap has no freed memory that Go would clear when reusing it.
		{"untouched", MemMethodHWM, 100 * time.Millisecond, func() { memSink = make([]byte, 64*mib) }, 0, 64 * mib, 0},
		{"hwm touched", MemMethodHWM, 100 * time.Millisecond, func() { memSink = touch(64 * mib) }, 64, 64 * mib, 0.05},
		// The array is freed before MemStop: only the high-water mark sees it.
		{"hwm spike", MemMethodHWM, 100 * time.Millisecond, func() { touch(64 * mib); runtime.GC(); memSink = nil }, 64, 0, 0.05},
		{"sample touched", MemMethodSample, 5 * time.Millisecond, func() { memSink = touch(64 * mib) }, 64, 64 * mib, 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			memSink = nil
			r := measure(t, tt.method, tt.interval, tt.body)
			memSink = nil
			if r.Method != tt.method {
				t.Errorf("method = %q, want %q (note %q)", r.Method, tt.method, r.Note)
			}
			inc := float64(r.Peak-r.Baseline) / mib
			t.Logf("%s: increment %.2f MiB, heap peak +%.2f MiB, %d samples", r.Method, inc, float64(r.HeapPeak-r.HeapBaseline)/mib, r.Samples)
			if tt.want == 0 {
				if inc > 4 {
					t.Errorf("increment = %.2f MiB, want about 0", inc)
				}
			} else if math.Abs(inc-tt.want)/tt.want > tt.tol {
				t.Errorf("increment = %.2f MiB, want %.0f MiB ± %.0f%%", inc, tt.want, tt.tol*100)
			}
			// The baseline holds some garbage of its own: allow 1%.
			if r.HeapPeak-r.HeapBaseline < tt.heapMin*99/100 {
				t.Errorf("heap peak %d - baseline %d < %d", r.HeapPeak, r.HeapBaseline, tt.heapMin)
			}
			if r.Allocated < 64*mib || r.Objects < 1 {
				t.Errorf("allocated %d bytes in %d objects, want at least 64 MiB", r.Allocated, r.Objects)
			}
			if r.Wall <= 0 {
				t.Errorf("wall = %d", r.Wall)
			}
		})
	}
}

// TestMemStopWithoutStart checks that an unpaired MemStop writes nothing.
func TestMemStopWithoutStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "result")
	s := memInit()
	s.mu.Lock()
	s.cfg.Result = path
	s.mu.Unlock()
	MemStop()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("MemStop without MemStart wrote %s", path)
	}
}

func TestReadMemReports(t *testing.T) {
	data := []byte("hello from the body {not json\n" +
		MemReportPrefix + `{"method":"hwm","baseline":10,"peak":30}` + "\n" +
		`{"method":"sample","baseline":1,"peak":2,"samples":3}` + "\n")
	got, err := ReadMemReports(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Peak != 30 || got[1].Samples != 3 {
		t.Errorf("got %+v", got)
	}
}

// TestRSSReaderAllocatesNothing: the samplers that run beside a measured
// body read resident memory every millisecond; what they allocate would be
// counted as the body's.
func TestRSSReaderAllocatesNothing(t *testing.T) {
	r := newRSSReader()
	if r.f == nil {
		t.Skip("no /proc/self/statm here")
	}
	got, want := r.read(), memRSS()
	if got <= 0 || math.Abs(float64(got-want)) > 0.25*float64(want) {
		t.Errorf("read %d bytes resident, memRSS %d", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { r.read() }); n != 0 {
		t.Errorf("read allocates %v objects a call, want 0", n)
	}
}

// TestMemitPlanDefaults checks the plan a %memit child reads: what the
// magic leaves out, and a plan that does not decode, measure with the
// defaults.
func TestMemitPlanDefaults(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want MemitPlan
	}{
		{"", MemitPlan{Method: MemMethodHWM, Interval: 100 * time.Millisecond}},
		{`{"result":"r","limit":1048576,"children":true}`, MemitPlan{Result: "r", Method: MemMethodHWM, Interval: 100 * time.Millisecond, Children: true, Limit: 1 << 20}},
		{`{"method":"mprof","interval":5000000}`, MemitPlan{Method: MemMethodMprof, Interval: 5 * time.Millisecond}},
		{`{"limit":`, MemitPlan{Method: MemMethodHWM, Interval: 100 * time.Millisecond}},
	} {
		t.Setenv(MemitPlanEnv, tt.env)
		if got := memConfigFromEnv(); got != tt.want {
			t.Errorf("%s=%q: plan %+v, want %+v", MemitPlanEnv, tt.env, got, tt.want)
		}
	}
}
