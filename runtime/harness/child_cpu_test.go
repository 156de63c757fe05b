package harness

import (
	"testing"
)

func spin(d int) int {
	x := 0
	for i := range d {
		x += i * i % 7
	}
	return x
}

func TestTimesReport(t *testing.T) {
	var sink int
	res := testing.Benchmark(func(b *testing.B) {
		start := StartTimes()
		for b.Loop() {
			sink += spin(1 << 20)
		}
		start.Report(b, b.N)
	})
	_ = sink
	cpu, user, sys := res.Extra[CPUUnit], res.Extra[UserUnit], res.Extra[SysUnit]
	wall := float64(res.T.Nanoseconds()) / 1e9 / float64(res.N)
	if cpu <= 0 || user <= 0 || sys < 0 {
		t.Fatalf("cpu %g user %g sys %g per op", cpu, user, sys)
	}
	if diff := cpu - user - sys; diff > 1e-12 || diff < -1e-12 {
		t.Errorf("cpu %g is not user %g + sys %g", cpu, user, sys)
	}
	// A busy loop on one goroutine uses at most about one CPU (on a loaded
	// machine less, so there is no lower bound).
	if cpu > wall*8 {
		t.Errorf("cpu %g s/op for %g s/op of wall time", cpu, wall)
	}
}
