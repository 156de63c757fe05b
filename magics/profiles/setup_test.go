package profiles

import (
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// stackProfile builds a CPU profile of one sample per stack; a stack
// lists its frames leaf first as "function file:line".
func stackProfile(stacks ...[]string) *profile.Profile {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "cpu", Unit: "nanoseconds"}}}
	funcs := map[string]*profile.Function{}
	for i, st := range stacks {
		s := &profile.Sample{Value: []int64{int64(i + 1)}}
		for _, frame := range st {
			name, pos, _ := strings.Cut(frame, " ")
			file, _, _ := strings.Cut(pos, ":")
			fn := funcs[name]
			if fn == nil {
				fn = &profile.Function{ID: uint64(len(funcs) + 1), Name: name, Filename: file}
				funcs[name] = fn
				p.Function = append(p.Function, fn)
			}
			loc := &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn, Line: 1}}}
			p.Location = append(p.Location, loc)
			s.Location = append(s.Location, loc)
		}
		p.Sample = append(p.Sample, s)
	}
	return p
}

func TestSplit(t *testing.T) {
	stacks := map[string][]string{
		"the body":                 {"perfnbcell.work In[2]:4", "perfnbcell.BenchmarkScalene In[3]:1", "testing.(*B).runN /go/src/testing/benchmark.go:219", "testing.(*B).run1.func1 /go/src/testing/benchmark.go:245"},
		"library code of the body": {"strings.Index /go/src/strings/strings.go:1", "perfnbcell.BenchmarkScalene In[3]:1", "testing.(*B).runN /go/src/testing/benchmark.go:219"},
		"a goroutine of the cell":  {"perfnbcell.worker In[2]:9", "runtime.goexit /go/src/runtime/asm_amd64.s:1700"},
		"the collector":            {"runtime.gcDrain /go/src/runtime/mgcmark.go:1", "runtime.gcBgMarkWorker /go/src/runtime/mgc.go:1"},
		"loading the state":        {"os.ReadFile /go/src/os/file.go:1", "perfnbcell/harness.LoadState /ws/harness/child_state.go:1", "perfnbcell.init In[1]:1", "runtime.doInit1 /go/src/runtime/proc.go:1", "runtime.main /go/src/runtime/proc.go:2"},
		"an initialiser":           {"perfnbcell.load In[1]:3", "perfnbcell.init In[1]:1", "runtime.doInit1 /go/src/runtime/proc.go:1"},
		"b.Loop":                   {"runtime.mallocgc /go/src/runtime/malloc.go:1", "testing.(*B).ResetTimer /go/src/testing/benchmark.go:1", "testing.(*B).Loop /go/src/testing/benchmark.go:2", "perfnbcell.BenchmarkScalene In[3]:1"},
		"choosing the benchmark":   {"regexp.compile /go/src/regexp/regexp.go:1", "testing.newMatcher /go/src/testing/match.go:1", "testing.runBenchmarks /go/src/testing/benchmark.go:1", "main.main _testmain.go:1", "runtime.main /go/src/runtime/proc.go:2"},
		"the output redirected":    {"syscall.Dup3 /go/src/syscall/zsyscall.go:1", "perfnbcell/harness.RedirectStdout /ws/harness/child_stdout.go:1", "perfnbcell.BenchmarkScalene cell_test.go:30"},
	}
	setUp := map[string]bool{"loading the state": true, "an initialiser": true, "b.Loop": true, "choosing the benchmark": true, "the output redirected": true}
	for name, st := range stacks {
		cell, su := Split(stackProfile(st))
		if got := len(su.Sample) == 1; got != setUp[name] || len(cell.Sample)+len(su.Sample) != 1 {
			t.Errorf("%s: %d samples of the cell's, %d of the set-up's; want it the set-up's: %v", name, len(cell.Sample), len(su.Sample), setUp[name])
		}
	}
	cell, _ := Split(stackProfile(stacks["the body"]))
	var names []string
	for _, loc := range cell.Sample[0].Location {
		names = append(names, loc.Line[0].Function.Name)
	}
	if got := strings.Join(names, " "); got != "perfnbcell.work perfnbcell.BenchmarkScalene" {
		t.Errorf("the body's stack is %s, want it to start at the benchmark", got)
	}
	all := stackProfile(stacks["the body"], stacks["loading the state"], stacks["the collector"])
	c, u := Split(all)
	if Total(c, "cpu") != 1+3 || Total(u, "cpu") != 2 || Total(all, "cpu") != 6 || Total(c, "alloc_space") != 0 {
		t.Errorf("totals: cell %d, set-up %d, of %d", Total(c, "cpu"), Total(u, "cpu"), Total(all, "cpu"))
	}
}
