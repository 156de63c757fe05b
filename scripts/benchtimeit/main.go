// Command benchtimeit measures perfnb's %timeit against go test -bench.
//
// For workloads from about 1 ns to about 1 ms per operation, it runs the
// %timeit magic in-process (through magics, with a real native workspace,
// as the kernel does) and a plain go test -bench benchmark of the same code,
// interleaved, for a few rounds, and prints the medians and their
// difference. It then prints the build time of a second small cell and the
// total time of a %timeit of a statement of about 100 ns.
//
//	go run ./scripts/benchtimeit [-rounds 3]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/timeit"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/native"
)

// workload is one statement to time, and the body of the hand-written
// benchmark that go test runs for it (by default the statement, then
// "_ = x" for the variable it declares).
type workload struct {
	name, stmt, ref string
}

var decls = []cell.Decl{
	{Kind: cell.ImportDecl, Name: "strconv", Source: `import "strconv"`, Cell: 1, Line: 1},
	{Kind: cell.VarDecl, Name: "n", Source: `var n = 7`, Cell: 1, Line: 2},
	{Kind: cell.FuncDecl, Name: "fib", Source: "func fib(n int) int {\n\tif n < 2 {\n\t\treturn n\n\t}\n\treturn fib(n-1) + fib(n-2)\n}", Cell: 1, Line: 3},
	{Kind: cell.VarDecl, Name: "xs", Source: `var xs = make([]int, 1000)`, Cell: 1, Line: 9},
}

// The bodies the issue names (about 1 ns, 20 ns, 1 µs and 1 ms), and an
// expression statement, which the hand-written benchmark stores in a
// package-level sink of its concrete type.
var workloads = []workload{
	{name: "arith ~1ns", stmt: "x := n*3 + 1"},
	{name: "len(xs) ~1ns", stmt: "len(xs)", ref: "sink = len(xs)"},
	{name: "itoa ~20ns", stmt: "s := strconv.Itoa(n * 123457)"},
	{name: "fib(13) ~1µs", stmt: "x := fib(13)"},
	{name: "fib(26) ~1ms", stmt: "x := fib(26)"},
}

// publisher discards what the magic publishes.
type publisher struct{}

func (publisher) Stream(string, string)                                 {}
func (publisher) Display(protocol.Bundle, map[string]any, string)       {}
func (publisher) UpdateDisplay(protocol.Bundle, map[string]any, string) {}
func (publisher) ClearOutput(bool)                                      {}
func (publisher) Input(context.Context, string, bool) (string, error) {
	return "", protocol.ErrStdinNotAllowed
}

func main() {
	rounds := flag.Int("rounds", 3, "rounds of interleaved measurements")
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()
	fmt.Printf("load average at the start: %s\n", loadAverage())
	defer func() { fmt.Printf("load average at the end: %s\n", loadAverage()) }()

	ws, err := native.NewWorkspace("")
	if err != nil {
		log.Fatal(err)
	}
	defer ws.Close()
	env := magics.Env{Decls: decls, Publisher: publisher{}, Workspace: func() (*native.Workspace, error) { return ws, nil }}
	m := timeit.New()
	count := 1
	timeitMean := func(args string) (*timeit.Result, time.Duration) {
		count++
		start := time.Now()
		v, err := m.Run(ctx, magics.Call{Magic: cell.Magic{Name: "timeit", Args: "-q -o " + args, Line: 1}, Count: count}, env)
		if err != nil {
			log.Fatalf("%%timeit %s: %v", args, err)
		}
		return v.(*timeit.Result), time.Since(start)
	}

	ref, cleanup, err := buildReference()
	if err != nil {
		log.Fatal(err)
	}
	defer cleanup()

	ours := make([][]float64, len(workloads))
	theirs := make([][]float64, len(workloads))
	for r := 0; r < *rounds; r++ {
		for i, w := range workloads {
			// Alternate which goes first, so that a drift in the machine's
			// load does not favour one side.
			var res *timeit.Result
			var ns float64
			if r%2 == 0 {
				res, _ = timeitMean(w.stmt)
				ns, err = runReference(ref, i)
			} else {
				ns, err = runReference(ref, i)
				res, _ = timeitMean(w.stmt)
			}
			if err != nil {
				log.Fatal(err)
			}
			ours[i] = append(ours[i], res.Average*1e9)
			theirs[i] = append(theirs[i], ns)
			fmt.Fprintf(os.Stderr, "round %d %-16s timeit %12.4g ns  go test %12.4g ns\n", r+1, w.name, res.Average*1e9, ns)
		}
	}
	fmt.Printf("\n%-16s %16s %16s %8s %8s\n", "workload", "%timeit mean", "go test ns/op", "diff", "paired")
	for i, w := range workloads {
		a, b := median(ours[i]), median(theirs[i])
		// paired: the median of each round's ratio, which a drift in the
		// machine's load between rounds affects less than the ratio of
		// the medians.
		var ratios []float64
		for r := range ours[i] {
			ratios = append(ratios, ours[i][r]/theirs[i][r])
		}
		fmt.Printf("%-16s %13.4g ns %13.4g ns %+7.1f%% %+7.1f%%\n", w.name, a, b, (a-b)/b*100, (median(ratios)-1)*100)
	}
	fmt.Printf("(medians of %d interleaved rounds; %%timeit: mean of 7 runs; go test: default -benchtime=1s;\n", *rounds)
	fmt.Printf(" diff: of the medians; paired: median of the rounds' ratios)\n\n")

	var builds []float64
	for i := 0; i < 5; i++ {
		res, _ := timeitMean(fmt.Sprintf("-n 1 -r 1 y%d := %d", i, i))
		builds = append(builds, res.CompileTime)
	}
	fmt.Printf("build time of a small cell after the first: median %.3f s, min %.3f s, max %.3f s (5 cells)\n",
		median(builds), minOf(builds), maxOf(builds))
	var totals []float64
	for i := 0; i < 3; i++ {
		res, took := timeitMean(fmt.Sprintf("x := fib(8) + %d", i))
		totals = append(totals, took.Seconds())
		fmt.Printf("%%timeit x := fib(8) + %d: %s, in %.2f s total (build %.2f s)\n", i, res.Line(), took.Seconds(), res.CompileTime)
	}
	fmt.Printf("total time of a %%timeit of a ~100 ns statement: median %.2f s\n", median(totals))
}

// buildReference writes the workloads as an ordinary benchmark package and
// builds its test binary.
func buildReference() (string, func(), error) {
	dir, err := os.MkdirTemp("", "benchtimeit-ref-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	var src strings.Builder
	src.WriteString("package main\n\nimport (\n\t\"strconv\"\n\t\"testing\"\n)\n\n")
	for _, d := range decls[1:] {
		src.WriteString(d.Source + "\n\n")
	}
	src.WriteString("var _ = strconv.Itoa\n\nvar sink int\n\n")
	for i, w := range workloads {
		body := w.ref
		if body == "" {
			body = w.stmt + "\n\t\t_ = " + strings.Fields(w.stmt)[0]
		}
		fmt.Fprintf(&src, "func BenchmarkW%d(b *testing.B) {\n\tfor b.Loop() {\n\t\t%s\n\t}\n}\n\n", i, body)
	}
	files := map[string]string{"go.mod": "module benchref\n\ngo 1.26\n", "ref_test.go": src.String()}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			cleanup()
			return "", nil, err
		}
	}
	bin := filepath.Join(dir, "ref.test")
	cmd := exec.Command("go", "test", "-c", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("building the reference benchmarks: %v\n%s", err, out)
	}
	return bin, cleanup, nil
}

// runReference runs workload i with go test's defaults and returns ns/op.
func runReference(bin string, i int) (float64, error) {
	out, err := exec.Command(bin, "-test.run=^$", fmt.Sprintf("-test.bench=^BenchmarkW%d$", i)).Output()
	if err != nil {
		return 0, fmt.Errorf("running the reference benchmark: %v\n%s", err, out)
	}
	runs, _ := magics.ReadBench(out)
	for _, r := range runs {
		if v, ok := r.Value("ns/op"); ok {
			return v, nil
		}
	}
	return 0, fmt.Errorf("no result from the reference benchmark:\n%s", out)
}

// loadAverage returns the machine's load averages over 1, 5 and 15
// minutes, or "unknown": the machine may be shared, and the load says how
// far to trust the table.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
