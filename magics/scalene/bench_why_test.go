package scalene

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"
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
	wall, cpu := buildTimes(t, ws, 2*runs)
	fmt.Printf("\nSUMMARY, lines calling functions (median of %d runs)\n", runs)
	fmt.Printf("  Total time, heavy():light() (3:1 by construction): %.1f/%.1f  (range %.1f–%.1f; target within 5 points of 75/25)\n",
		median(splits), 100-median(splits), slices.Min(splits), slices.Max(splits))
	fmt.Printf("  the compiler's diagnostics add %+.1f%% to the build's wall time (median of %d pairs, range %+.0f%% to %+.0f%%; target under 20%%)\n",
		100*(median(wall)-1), len(wall), 100*(slices.Min(wall)-1), 100*(slices.Max(wall)-1))
	fmt.Printf("  and %+.1f%% to its CPU time (go, compile and link; range %+.0f%% to %+.0f%%)\n",
		100*(median(cpu)-1), 100*(slices.Min(cpu)-1), 100*(slices.Max(cpu)-1))
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
		h, l := att.Lines[cell.Pos{Cell: 7, Line: 2}], att.Lines[cell.Pos{Cell: 7, Line: 3}]
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
// compiler's diagnostics, the latter including their parsing, and returns
// the wall time and the CPU time of the go command and its children
// (compile, link), in milliseconds. Each pair of builds gives a ratio.
func buildTimes(t *testing.T, ws *native.Workspace, runs int) (ratios, cpuRatios []float64) {
	for i := range runs {
		var wall, cpu [2]float64
		for j, with := range []bool{false, true} {
			body := fmt.Sprintf("x := []int{%d, 2, 3}\nsink = &x\nsink = spin(%d) + big(x)\n", 2*i+j, 1000+2*i+j)
			prog := native.Program{Decls: whyDecls, Benchmarks: []native.Benchmark{{Name: benchName, Body: native.Snippet{Source: body, Cell: 9, Line: 1}}}}
			if with {
				prog.GCFlags = CompilerFlags
			}
			cpu0 := childrenCPU()
			start := time.Now()
			bin, err := ws.Build(context.Background(), prog)
			if err != nil {
				t.Fatal(err)
			}
			if with {
				ParseCompilerText(bin.CompilerOutput)
			}
			wall[j], cpu[j] = float64(time.Since(start).Milliseconds()), float64((childrenCPU() - cpu0).Milliseconds())
		}
		fmt.Printf("build %d: %4.0f ms wall, %4.0f ms CPU without diagnostics; %4.0f ms wall, %4.0f ms CPU with\n", i+1, wall[0], cpu[0], wall[1], cpu[1])
		ratios, cpuRatios = append(ratios, wall[1]/wall[0]), append(cpuRatios, cpu[1]/cpu[0])
	}
	return ratios, cpuRatios
}

// childrenCPU is the CPU time of this process's finished children.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
