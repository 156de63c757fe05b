// Command bench-memit-tool measures how close %memit's increment comes to
// the true size of a body that allocates and touches a known amount of
// memory, with perfnb's method (the kernel's high-water mark) and with
// memory_profiler's (resident memory sampled every 0.1 s). Run it through
// scripts/bench-memit.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/memit"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/native"
)

func main() {
	runs := flag.Int("runs", 5, "measurements per size and method")
	sizesFlag := flag.String("sizes", "16,64,256", "sizes in MiB")
	hold := flag.Duration("hold", 0, "keep the memory this long before the body ends (0: end at once)")
	spike := flag.Bool("spike", false, "free the memory and return it to the system before the body ends")
	flag.Parse()
	var sizes []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil {
			log.Fatalf("bad size %q", s)
		}
		sizes = append(sizes, n)
	}

	ws, err := native.NewWorkspace("")
	if err != nil {
		log.Fatal(err)
	}
	defer ws.Close()
	env := magics.Env{
		Publisher: nopPublisher{},
		Workspace: func() (*native.Workspace, error) { return ws, nil },
	}
	methods := []struct{ env, label string }{
		{"hwm", "perfnb (VmHWM)"},
		{"mprof", "memory_profiler (0.1 s samples)"},
		{"sample", "0.1 s samples + one at the end"},
	}
	m := memit.New()
	ctx := context.Background()
	type key struct {
		size   int
		method string
	}
	incs := map[key][]float64{}
	walls := map[key][]time.Duration{}
	for run := 0; run < *runs; run++ {
		for _, size := range sizes {
			for _, meth := range methods {
				os.Setenv(harness.MemMethodEnv, meth.env)
				body := fmt.Sprintf("s := make([]byte, %d<<20)\nfor i := 0; i < len(s); i += 4096 {\n\ts[i] = 1\n}\n", size)
				if *hold > 0 {
					body += fmt.Sprintf("time.Sleep(%d)\n", *hold)
				}
				if *spike {
					body += "s = nil\nruntime.GC()\ndebug.FreeOSMemory()\n"
				}
				body += "_ = s\n"
				decls := env
				decls.Decls = imports
				v, err := m.Run(ctx, magics.Call{Magic: cell.Magic{Name: "memit", Cell: true, Args: "-o -q", Body: body, Line: 1, BodyLine: 2}, Count: 1}, decls)
				if err != nil {
					log.Fatalf("%d MiB, %s: %v", size, meth.env, err)
				}
				r := v.(*memit.Result)
				k := key{size, meth.env}
				incs[k] = append(incs[k], float64(r.Increment)/(1<<20))
				walls[k] = append(walls[k], r.Wall)
			}
		}
	}
	fmt.Printf("%d runs each; body: make([]byte, N MiB), one write per 4 KiB page", *runs)
	if *hold > 0 {
		fmt.Printf(", then sleep %v", *hold)
	}
	if *spike {
		fmt.Printf(", then free it and return it to the system")
	}
	fmt.Println()
	fmt.Printf("%-8s %-32s %10s %10s %10s %9s %9s %10s\n", "true", "method", "median", "min", "max", "err med", "err max", "body wall")
	for _, size := range sizes {
		for _, meth := range methods {
			k := key{size, meth.env}
			xs := slices.Clone(incs[k])
			slices.Sort(xs)
			med := xs[len(xs)/2]
			worst := 0.0
			for _, x := range xs {
				if e := (x - float64(size)) / float64(size); math.Abs(e) > math.Abs(worst) {
					worst = e
				}
			}
			ws := slices.Clone(walls[k])
			slices.Sort(ws)
			fmt.Printf("%-8s %-32s %10.2f %10.2f %10.2f %+8.1f%% %+8.1f%% %10v\n",
				fmt.Sprintf("%d MiB", size), meth.label, med, xs[0], xs[len(xs)-1],
				100*(med-float64(size))/float64(size), 100*worst, ws[len(ws)/2].Round(time.Millisecond))
		}
	}
}

// imports are the declarations the bodies may use.
var imports = []cell.Decl{
	{Kind: cell.ImportDecl, Name: "time", Source: `import "time"`, Cell: 1, Line: 1},
	{Kind: cell.ImportDecl, Name: "runtime", Source: `import "runtime"`, Cell: 1, Line: 2},
	{Kind: cell.ImportDecl, Name: "runtime/debug", Source: `import "runtime/debug"`, Cell: 1, Line: 3},
}

// nopPublisher discards displays and passes the child's output to stderr.
type nopPublisher struct{}

func (nopPublisher) Stream(name, text string)                              { fmt.Fprint(os.Stderr, text) }
func (nopPublisher) Display(protocol.Bundle, map[string]any, string)       {}
func (nopPublisher) UpdateDisplay(protocol.Bundle, map[string]any, string) {}
func (nopPublisher) ClearOutput(bool)                                      {}
func (nopPublisher) Input(context.Context, string, bool) (string, error) {
	return "", protocol.ErrStdinNotAllowed
}
