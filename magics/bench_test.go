package magics

import (
	"math"
	"testing"
)

func TestReadBench(t *testing.T) {
	out := "goos: linux\ngoarch: amd64\npkg: perfnbcell\ncpu: Intel(R) Xeon(R) Processor\n" +
		"BenchmarkCell-2   \t20000000\t        12.5 ns/op\t   3 B/op\t       1 allocs/op\n" +
		"some line the cell printed\n" +
		"BenchmarkV1_fast\t1000\t2000 ns/op\t0.5 cpu-sec/op\n" +
		"BenchmarkCell-2   \t20000000\t        13.5 ns/op\t   3 B/op\t       1 allocs/op\n" +
		"PASS\n"
	runs, err := ReadBench([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 {
		t.Fatalf("%d runs, want 3: %+v", len(runs), runs)
	}
	r := runs[0]
	sec, _ := r.Value("sec/op")
	ns, _ := r.Value("ns/op")
	b, _ := r.Value("B/op")
	if r.Name != "Cell" || r.Procs != 2 || r.Iters != 20000000 || math.Abs(sec-12.5e-9) > 1e-20 || ns != 12.5 || b != 3 || r.CPU != "Intel(R) Xeon(R) Processor" {
		t.Errorf("first run: %+v (sec/op %g, ns/op %g, B/op %g)", r, sec, ns, b)
	}
	if cpu, ok := runs[1].Value("cpu-sec/op"); runs[1].Name != "V1_fast" || runs[1].Procs != 1 || !ok || cpu != 0.5 {
		t.Errorf("second run: %+v", runs[1])
	}
	if _, ok := runs[1].Value("B/op"); ok {
		t.Error("a unit the line lacks has a value")
	}
	if got := BenchRuns(runs, "Cell"); len(got) != 2 || got[1].Iters != 20000000 {
		t.Errorf("BenchRuns(Cell) = %+v", got)
	}
	if runs, err := ReadBench([]byte("PASS\n")); err != nil || len(runs) != 0 {
		t.Errorf("no result lines: %v, %v", runs, err)
	}
}
