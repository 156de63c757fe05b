package record

import (
	"bytes"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

func TestCollectReadsTheBinary(t *testing.T) {
	// The test binary carries build information like a magic's child.
	e := Collect(os.Args[0], "9.9.9")
	if e.Go != runtime.Version() || e.GOOS != runtime.GOOS || e.GOARCH != runtime.GOARCH {
		t.Errorf("platform %s %s/%s, want %s %s/%s", e.Go, e.GOOS, e.GOARCH, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	if runtime.GOARCH == "amd64" && e.Build["GOAMD64"] == "" {
		t.Errorf("no GOAMD64 level in %v", e.Build)
	}
	if e.Perfnb != "9.9.9" || e.GOMAXPROCS < 1 || e.NumCPU < 1 {
		t.Errorf("environment %+v", e)
	}
	if runtime.GOOS == "linux" && (len(e.LoadAvg) != 3 || e.CPU == "") {
		t.Errorf("no load average or CPU on Linux: %+v", e)
	}
	// A file that is not a binary leaves this process's figures.
	if e := Collect("record.go", ""); e.Go != runtime.Version() || e.Build != nil {
		t.Errorf("non-binary: %+v", e)
	}
}

func TestAddBench(t *testing.T) {
	var e Environment
	e.AddBench([]byte("goos: linux\ncpu: Test CPU @ 3GHz\nBenchmarkCell-8 \t 100\t 12.5 ns/op\n"))
	if e.CPU != "Test CPU @ 3GHz" || e.GOMAXPROCS != 8 {
		t.Errorf("got %+v", e)
	}
}

func sample() Record {
	env := Environment{Go: "go1.26.8", GOOS: "linux", GOARCH: "amd64", Build: map[string]string{"GOAMD64": "v3", "CGO_ENABLED": "1"},
		CPU: "Test CPU", GOMAXPROCS: 4, NumCPU: 8, LoadAvg: []float64{0.5, 0.25, 0.125}, Perfnb: "0.1.0"}
	r := Result{Label: "fast way", Iterations: 1000}
	r.Add("sec/op", 1e-6, 1.1e-6, 0.9e-6)
	r.Add("B/op", 16, 16, 16)
	r.Add("allocs/op", 1, 1) // fewer values than runs
	return Record{Magic: "timeit", Source: "%%timeit\nfast way: f()", Cell: 3, Clock: "wall", Results: []Result{r}, Environment: env}
}

func TestFooterAndDifferences(t *testing.T) {
	rec := sample()
	want := "go1.26.8 linux/amd64 GOAMD64=v3 · Test CPU · GOMAXPROCS 4 of 8 CPUs · load 0.50 · perfnb 0.1.0"
	if got := rec.Environment.Footer(); got != want {
		t.Errorf("footer\n got %q\nwant %q", got, want)
	}
	other := rec.Environment
	other.LoadAvg, other.Perfnb = []float64{3}, "0.2.0"
	if d := Differences(rec.Environment, other); len(d) != 0 {
		t.Errorf("load and version differences reported: %v", d)
	}
	other.Go, other.GOMAXPROCS, other.CPU = "go1.25.0", 2, "Other CPU"
	d := strings.Join(Differences(rec.Environment, other), "\n")
	for _, w := range []string{"Go version: go1.26.8 (old) vs go1.25.0 (new)", "CPU: Test CPU (old) vs Other CPU (new)", "GOMAXPROCS: 4 (old) vs 2 (new)"} {
		if !strings.Contains(d, w) {
			t.Errorf("differences %q lack %q", d, w)
		}
	}
}

func TestWriteBenchIsReadByBenchfmt(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteBench(&buf, []Record{sample()}, map[string]string{"notebook": "old.ipynb"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "load") || strings.Contains(buf.String(), "perfnb") {
		t.Errorf("volatile keys written:\n%s", buf.String())
	}
	r := benchfmt.NewReader(&buf, "test")
	var lines int
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			t.Fatalf("not a result: %v", r.Result())
		}
		lines++
		if got := res.Name.String(); got != "Timeit/fast_way-4" {
			t.Errorf("name %q", got)
		}
		if res.Iters != 1000 || res.GetConfig("goamd64") != "v3" || res.GetConfig("notebook") != "old.ipynb" || res.GetConfig("cpu") != "Test CPU" {
			t.Errorf("result %+v", res)
		}
		if v, ok := res.Value("sec/op"); !ok || v < 0.9e-6 || v > 1.1e-6 {
			t.Errorf("sec/op %v in %+v", v, res.Values)
		}
		_, hasAllocs := res.Value("allocs/op")
		if hasAllocs != (lines <= 2) {
			t.Errorf("line %d: allocs/op present %v", lines, hasAllocs)
		}
	}
	if err := r.Err(); err != nil || lines != 3 {
		t.Errorf("read %d lines, err %v", lines, err)
	}
}

func TestRecordJSON(t *testing.T) {
	rec := sample()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if v, ok := back.Results[0].Metric("sec/op"); !ok || len(v) != 3 || back.Environment.Build["GOAMD64"] != "v3" {
		t.Errorf("round trip: %s", b)
	}
	var r Result
	r.Add("sec/op")
	r.Add("B/op", 1/zero())
	if len(r.Metrics) != 0 {
		t.Errorf("empty or infinite metric kept: %+v", r.Metrics)
	}
}

func zero() float64 { return 0 }
