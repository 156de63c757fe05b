package timeit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
)

// handWritten is the benchmark a Go programmer would write for the same
// bodies as the %timeit calls below: the test environment's declarations,
// b.Loop and a package-level sink of the expression's concrete type.
const handWritten = `package main

import (
	"strings"
	"testing"
)

var words = strings.Fields("the quick brown fox jumps over the lazy dog")

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

var sink int

func BenchmarkLen(b *testing.B) {
	for b.Loop() {
		sink = len(words)
	}
}

func BenchmarkFib(b *testing.B) {
	for b.Loop() {
		sink = fib(12)
	}
}
`

// TestTimeitAddsNoWork compares %timeit with the hand-written benchmark of
// the same body, run by go test -bench in the same test: the harness must
// not add per-loop work (it once passed expressions to a non-inlined
// function, which tripled the time of len(xs)). The best times of
// interleaved rounds on each side are compared, loosely: %timeit may read
// at most 1.5× the hand-written figure, and no less than a third of it (a
// body the compiler deleted would read far less); rounds are added, up to
// six, while a loaded machine keeps them apart.
func TestTimeitAddsNoWork(t *testing.T) {
	e := newTestEnv(t)
	dir := t.TempDir()
	files := map[string]string{"go.mod": "module hand\n\ngo 1.24\n", "hand_test.go": handWritten}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "hand.test")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=", "GOTOOLCHAIN=local", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the hand-written benchmark: %v\n%s", err, out)
	}
	for _, tt := range []struct{ bench, body string }{{"Len", "len(words)"}, {"Fib", "fib(12)"}} {
		t.Run(tt.bench, func(t *testing.T) {
			best := map[string]float64{}
			keep := func(side string, sec float64) {
				if old, ok := best[side]; !ok || sec < old {
					best[side] = sec
				}
			}
			ratio := 0.0
			for round := range 6 {
				v, _, err := runTimeit(t, e, context.Background(), magicstest.Call(t, 5, "%timeit -o -r 3 "+tt.body))
				if err != nil {
					t.Fatal(err)
				}
				keep("timeit", v.(*Result).Best)
				cmd := exec.Command(bin, "-test.run=^$", "-test.bench=^Benchmark"+tt.bench+"$", "-test.benchtime=0.2s", "-test.count=3")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("hand-written benchmark: %v\n%s", err, out)
				}
				runs, err := magics.ReadBench(out)
				ms := measurements(runs, tt.bench, "sec/op")
				if err != nil || len(ms) == 0 {
					t.Fatalf("reading %q: %v", out, err)
				}
				for _, m := range ms {
					keep("go test", m.secPerOp)
				}
				// On a loaded machine the best times need more rounds
				// to settle; stop once they agree.
				if ratio = best["timeit"] / best["go test"]; round >= 1 && ratio <= 1.5 && ratio >= 1.0/3 {
					break
				}
			}
			t.Logf("%%timeit %s: %.3g ns; go test -bench: %.3g ns; ratio %.2f", tt.body,
				best["timeit"]*1e9, best["go test"]*1e9, ratio)
			if ratio > 1.5 || ratio < 1.0/3 {
				t.Errorf("%%timeit %s reads %.2f× the hand-written benchmark", tt.body, ratio)
			}
		})
	}
}
