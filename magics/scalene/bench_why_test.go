package scalene

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/native"
)

// callsBody is the calibrated cell whose lines call functions: heavy
// does three times light's work, in spin, declared in another cell.
const callsBody = "sink = heavy()\nsink = light()\n"

// benchRuns is SCALENE_BENCH_RUNS, 5 by default.
func benchRuns() int {
	if v, err := strconv.Atoi(os.Getenv("SCALENE_BENCH_RUNS")); err == nil && v > 0 {
		return v
	}
	return 5
}

// TestBenchScaleneWhy measures, for scripts/bench-scalene: the 3:1 split
// read on the Total column of a cell whose two lines call functions, and
// the wall time the compiler's diagnostics add to a build (each build
// compiles a new program, so that neither is served by the cache).
// Figures are reported, not asserted.
func TestBenchScaleneWhy(t *testing.T) {
	if os.Getenv("SCALENE_BENCH") == "" {
		t.Skip("run by scripts/bench-scalene")
	}
	ws := magicstest.Workspace(t)
	runs := benchRuns()
	splits := callSplits(t, ws, runs)
	plain, diag := buildTimes(t, ws, runs)
	fmt.Printf("\nSUMMARY, lines calling functions (median of %d runs)\n", runs)
	fmt.Printf("  Total time, heavy():light() (3:1 by construction): %.1f/%.1f  (range %.1f–%.1f; target within 5 points of 75/25)\n",
		median(splits), 100-median(splits), slices.Min(splits), slices.Max(splits))
	fmt.Printf("  build without diagnostics: %.0f ms %v\n  build with -m=2 and check_bce, output parsed: %.0f ms %v\n",
		median(plain), plain, median(diag), diag)
	fmt.Printf("  the compiler's diagnostics add %+.1f%% to the build (target under 20%%)\n", 100*(median(diag)/median(plain)-1))
}

// callSplits runs the magic on callsBody and reads the Total column's
// split of its two lines, from the attribution the table shows.
func callSplits(t *testing.T, ws *native.Workspace, runs int) []float64 {
	var splits []float64
	for i := range runs {
		pdir := t.TempDir()
		pub := &kerneltest.Publisher{}
		env := magics.Env{Decls: whyDecls, Publisher: pub, Workspace: func() (*native.Workspace, error) { return ws, nil }}
		call := magics.Call{Magic: cell.Magic{Name: "scalene", Cell: true, Body: callsBody, Line: 1, BodyLine: 2,
			Args: "--cpu-only --no-flamegraph --duration 3s --profile-dir " + pdir}, Count: 7}
		if _, err := New().Run(context.Background(), call, env); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			fmt.Println(pub.Displays()[0]["text/plain"])
		}
		res := &Result{Cell: 7, Sources: NewSources(7, callsBody, 2, whyDecls), CPU: loadProfile(t, onlyFile(t, pdir, "perfnb.cell7.cpu.*.pb.gz"))}
		att, err := res.Attribute()
		if err != nil {
			t.Fatal(err)
		}
		h, l := att.Lines[LineKey{7, 2}], att.Lines[LineKey{7, 3}]
		if h == nil || l == nil {
			t.Fatalf("lines missing: %v", att.Lines)
		}
		split := 100 * float64(h.CumCPU) / float64(h.CumCPU+l.CumCPU)
		splits = append(splits, split)
		fmt.Printf("run %d: Total split %.1f/%.1f (%.2f s / %.2f s; self %.2f s / %.2f s)\n", i+1, split, 100-split,
			float64(h.CumCPU)/1e9, float64(l.CumCPU)/1e9, float64(h.CPUSelf())/1e9, float64(l.CPUSelf())/1e9)
	}
	return splits
}

// buildTimes builds new programs alternately without and with the
// compiler's diagnostics, the latter's time including their parsing, in
// milliseconds.
func buildTimes(t *testing.T, ws *native.Workspace, runs int) (plain, diag []float64) {
	for i := range 2 * runs {
		body := fmt.Sprintf("x := []int{%d, 2, 3}\nsink = &x\nsink = spin(%d) + big(x)\n", i, 1000+i)
		prog := native.Program{Decls: whyDecls, Benchmarks: []native.Benchmark{{Name: benchName, Body: native.Snippet{Source: body, Cell: 9, Line: 1}}}}
		with := i%2 == 1
		if with {
			prog.GCFlags = CompilerFlags
		}
		start := time.Now()
		bin, err := ws.Build(context.Background(), prog)
		if err != nil {
			t.Fatal(err)
		}
		if with {
			ParseCompilerText(bin.CompilerOutput)
			diag = append(diag, float64(time.Since(start).Milliseconds()))
		} else {
			plain = append(plain, float64(time.Since(start).Milliseconds()))
		}
	}
	return plain, diag
}
