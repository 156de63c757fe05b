package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/internal/nbformat"
	"github.com/perfnb/perfnb/magics/record"
)

// bruteSignedRank is the signed-rank test's p-value by enumerating every
// assignment of signs to the nonzero changes, with mean ranks for ties.
func bruteSignedRank(d []float64) float64 {
	var nz []float64
	for _, x := range d {
		if x != 0 {
			nz = append(nz, x)
		}
	}
	rank := func(x float64) float64 {
		below, equal := 0, 0
		for _, y := range nz {
			switch {
			case math.Abs(y) < math.Abs(x):
				below++
			case math.Abs(y) == math.Abs(x):
				equal++
			}
		}
		return float64(below) + float64(equal+1)/2
	}
	total, obs := 0.0, 0.0
	for _, x := range nz {
		total += rank(x)
		if x > 0 {
			obs += rank(x)
		}
	}
	n := len(nz)
	extreme := 0
	for mask := 0; mask < 1<<n; mask++ {
		w := 0.0
		for i, x := range nz {
			if mask&(1<<i) != 0 {
				w += rank(x)
			}
		}
		if math.Abs(w-total/2) >= math.Abs(obs-total/2)-1e-9 {
			extreme++
		}
	}
	return float64(extreme) / float64(int(1)<<n)
}

func TestSignedRank(t *testing.T) {
	if p := signedRank([]float64{1, 2, 3, 4, 5, 6}); math.Abs(p-2.0/64) > 1e-12 {
		t.Errorf("six positive changes: p = %v, want 2/64", p)
	}
	if p := signedRank([]float64{0, 0, 0}); p != 1 {
		t.Errorf("no change: p = %v", p)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := 1 + rng.IntN(11)
		d := make([]float64, n)
		for i := range d {
			d[i] = float64(rng.IntN(7) - 3) // ties and zeros on purpose
		}
		if got, want := signedRank(d), bruteSignedRank(d); math.Abs(got-want) > 1e-9 {
			t.Fatalf("signedRank(%v) = %v, want %v", d, got, want)
		}
	}
}

func TestHodgesLehmann(t *testing.T) {
	d := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	est, lo, hi := hodgesLehmann(d, 0.05)
	// n=6 at 0.05: the interval is the extreme Walsh averages.
	if math.Abs(est-0.35) > 1e-12 || lo != 0.1 || hi != 0.6 {
		t.Errorf("estimate %v in [%v, %v]", est, lo, hi)
	}
	if _, lo, hi := hodgesLehmann(d[:5], 0.05); !math.IsInf(lo, -1) || !math.IsInf(hi, 1) {
		t.Errorf("five values at 0.05 gave [%v, %v], want no bound", lo, hi)
	}
	if minRounds(0.05) != 6 || minRounds(0.01) != 8 {
		t.Errorf("minRounds %d, %d", minRounds(0.05), minRounds(0.01))
	}
}

// fakeSide is a notebook of one %timeit cell whose every run gives the
// time per loop that timeOf returns for (round, order in the round).
type fakeSide struct {
	doc    *nbformat.Document
	runs   int
	timeOf func(run int) float64
	bytes  float64
}

func newFakeSide(t *testing.T, bytesPerOp float64, timeOf func(run int) float64) *fakeSide {
	f := &fakeSide{doc: &nbformat.Document{Cells: []*nbformat.Cell{nbformat.NewCodeCell("func f() {}"), nbformat.NewCodeCell("%timeit f()")}},
		timeOf: timeOf, bytes: bytesPerOp}
	if err := f.Rerun(context.Background(), f.doc.Cells[1]); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeSide) Document() *nbformat.Document { return f.doc }

func (f *fakeSide) Rerun(_ context.Context, c *nbformat.Cell) error {
	f.runs++
	r := record.Result{Iterations: 1000}
	t := f.timeOf(f.runs)
	r.Add("sec/op", t, t*1.01, t*0.99)
	r.Add("B/op", f.bytes, f.bytes, f.bytes)
	rec := record.Record{Magic: "timeit", Source: "%timeit f()", Environment: testEnv, Results: []record.Result{r}}
	out, _ := json.Marshal(map[string]any{"output_type": "display_data", "metadata": map[string]any{},
		"data": map[string]any{record.MIMEType: rec}})
	c.Outputs = []json.RawMessage{out}
	return nil
}

// clock is a machine whose speed changes from run to run, as on a shared
// machine: every run of either side is slowed by the same load.
type clock struct {
	runs int
	rng  *rand.Rand
	load float64
}

// next is the slowdown of the next run: the load changes every few runs
// and each run has its own noise.
func (c *clock) next() float64 {
	c.runs++
	if c.runs%3 == 0 {
		c.load = 1 + 2*c.rng.Float64() // from quiet to three times slower
	}
	return c.load * (1 + 0.03*c.rng.NormFloat64())
}

func TestInterleave(t *testing.T) {
	o := RunOptions{Options: Options{Threshold: 0.25, Alpha: 0.05}, MaxRounds: 20, OldName: "old", NewName: "new"}
	tests := []struct {
		name      string
		slowdown  float64
		newBytes  float64
		want      Verdict
		maxRounds int
	}{
		{"unchanged under a changing load", 1, 0, Same, 20},
		{"twice as slow", 2, 0, Regression, 10},
		{"a bit slower", 1.05, 0, Same, 20},
		{"a new allocation", 1, 64, Regression, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &clock{rng: rand.New(rand.NewPCG(3, 4)), load: 1}
			old := newFakeSide(t, 0, func(int) float64 { return 1e-6 * m.next() })
			new := newFakeSide(t, tt.newBytes, func(int) float64 { return tt.slowdown * 1e-6 * m.next() })
			rep, merged, err := Interleave(context.Background(), old, new, o)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			rep.WriteText(&out, "old", "new", o.Options)
			verdict := Same
			if len(rep.Regressions()) > 0 {
				verdict = Regression
			}
			if verdict != tt.want || rep.Rounds > tt.maxRounds || rep.Rounds < 6 {
				t.Errorf("%v after %d rounds, want %v within %d:\n%s", verdict, rep.Rounds, tt.want, tt.maxRounds, out.String())
			}
			if old.runs != rep.Rounds+1 || new.runs != rep.Rounds+1 {
				t.Errorf("ran %d and %d times for %d rounds", old.runs, new.runs, rep.Rounds)
			}
			if v, _ := merged[1][0].Results[0].Metric("sec/op"); len(v) != 3*rep.Rounds {
				t.Errorf("merged %d runs, want 3 per round", len(v))
			}
			if !strings.Contains(out.String(), "interleaved rounds") {
				t.Errorf("the report does not give the rounds:\n%s", out.String())
			}
		})
	}
}
