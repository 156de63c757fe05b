package scalene

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/native"
)

// benchBody is the calibrated cell of scripts/bench-scalene: lines 2 and 3
// cost 3:1 in CPU (the same loop, 3n and n iterations), line 4 allocates
// exactly 1,000 × 1 KiB per execution.
const benchBody = "x := 0\n" +
	"for i := 0; i < 3000000; i++ { x += i * i % 7 }\n" +
	"for i := 0; i < 1000000; i++ { x += i * i % 7 }\n" +
	"for i := 0; i < 1000; i++ { sink = make([]byte, 1024) }\n" +
	"_ = x\n"

var benchDecls = []cell.Decl{{Kind: cell.VarDecl, Name: "sink", Cell: 1, Line: 1, Source: "var sink []byte"}}

// TestBenchScalene measures %scalene against the calibrated cell: the CPU
// split of the 3:1 lines, the error of the allocated bytes, and the
// slowdown of the CPU-profiled run against the same body unprofiled. It
// runs only from scripts/bench-scalene (SCALENE_BENCH=1); figures are
// reported, not asserted.
func TestBenchScalene(t *testing.T) {
	if os.Getenv("SCALENE_BENCH") == "" {
		t.Skip("run by scripts/bench-scalene")
	}
	runs := benchRuns()
	ws := magicstest.Workspace(t)
	ctx, dir := context.Background(), t.TempDir()
	const cellN, bodyLine = 2, 1

	// 1. The magic, end to end, several times: CPU split and bytes.
	var splits, byteErrs []float64
	for i := range runs {
		pub := &kerneltest.Publisher{}
		env := magics.Env{Decls: benchDecls, Publisher: pub, Workspace: func() (*native.Workspace, error) { return ws, nil }}
		pdir := filepath.Join(dir, strconv.Itoa(i))
		call := magics.Call{Magic: cell.Magic{Name: "scalene", Cell: true, Args: "--no-flamegraph --duration 3s --profile-dir " + pdir, Body: benchBody, Line: 1, BodyLine: bodyLine}, Count: cellN}
		if _, err := New().Run(ctx, call, env); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			fmt.Println(pub.Displays()[0]["text/plain"])
		}
		res := &Result{Cell: cellN, Sources: NewSources(cellN, benchBody, bodyLine, benchDecls), Executions: memoryRuns,
			CPU: loadProfile(t, onlyFile(t, pdir, "perfnb.cell2.cpu.*.pb.gz")), Mem: loadProfile(t, onlyFile(t, pdir, "perfnb.cell2.mem.*.pb.gz"))}
		att, err := res.Attribute()
		if err != nil {
			t.Fatal(err)
		}
		a, b := att.Lines[cell.Pos{Cell: cellN, Line: 2}], att.Lines[cell.Pos{Cell: cellN, Line: 3}]
		c := att.Lines[cell.Pos{Cell: cellN, Line: 4}]
		if a == nil || b == nil || c == nil {
			t.Fatalf("lines missing: %v", att.Lines)
		}
		split := 100 * float64(a.CPUSelf()) / float64(a.CPUSelf()+b.CPUSelf())
		bytesPerExec := float64(c.AllocBytes) / float64(res.Executions)
		byteErr := 100 * (bytesPerExec - 1024000) / 1024000
		splits = append(splits, split)
		byteErrs = append(byteErrs, byteErr)
		fmt.Printf("run %d: CPU split %.1f/%.1f (lines 2/3: %.2f s / %.2f s of %.2f s sampled), line 4: %.0f bytes, %d objects per execution (error %+.3f%%)\n",
			i+1, split, 100-split, float64(a.CPUSelf())/1e9, float64(b.CPUSelf())/1e9, float64(att.Total.CPUSelf())/1e9,
			bytesPerExec, c.AllocObjects/res.Executions, byteErr)
	}

	// 2. Overhead: the same binary with and without -test.cpuprofile,
	// alternating, -test.benchtime=2s each.
	bin, err := ws.Build(ctx, native.Program{Decls: benchDecls, Benchmarks: []native.Benchmark{{Name: benchName,
		Body: native.Snippet{Source: benchBody, Cell: cellN, Line: bodyLine}}}})
	if err != nil {
		t.Fatal(err)
	}
	nsPerOp := func(extra ...string) float64 {
		args := append([]string{"-test.run=^$", "-test.bench=^Benchmark" + benchName + "$", "-test.benchtime=2s"}, extra...)
		rr, err := ws.Run(ctx, bin, native.RunOptions{Args: args, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		r := benchfmt.NewReader(bytes.NewReader(rr.Bench), "bench")
		for r.Scan() {
			if res, ok := r.Result().(*benchfmt.Result); ok {
				if v, ok := res.Value("sec/op"); ok {
					return v * 1e9
				}
			}
		}
		t.Fatalf("no ns/op in %q", rr.Bench)
		return 0
	}
	var plain, profiled []float64
	for i := range runs {
		plain = append(plain, nsPerOp())
		profiled = append(profiled, nsPerOp("-test.cpuprofile="+filepath.Join(dir, fmt.Sprintf("o%d.pb.gz", i))))
	}
	slowdown := 100 * (median(profiled)/median(plain) - 1)
	fmt.Printf("\nunprofiled: %.3f ms/op %v\nprofiled:   %.3f ms/op %v\n", median(plain)/1e6, ms(plain), median(profiled)/1e6, ms(profiled))
	fmt.Printf("\nSUMMARY (median of %d runs)\n", runs)
	fmt.Printf("  CPU split, lines 2:3 (3:1 by construction): %.1f/%.1f  (range %.1f–%.1f; target within 5 points of 75/25)\n",
		median(splits), 100-median(splits), slices.Min(splits), slices.Max(splits))
	fmt.Printf("  allocated bytes on line 4 vs 1,024,000:    %+.3f%%  (worst %+.3f%%; target within 1%%)\n", median(byteErrs), worst(byteErrs))
	fmt.Printf("  CPU-profiled run vs unprofiled (ns/op):    %+.1f%%  (target at most +10%%)\n", slowdown)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func worst(xs []float64) float64 {
	w := 0.0
	for _, x := range xs {
		if x*x > w*w {
			w = x
		}
	}
	return w
}

func ms(ns []float64) []string {
	out := make([]string, len(ns))
	for i, v := range ns {
		out[i] = strconv.FormatFloat(v/1e6, 'f', 3, 64)
	}
	return out
}
