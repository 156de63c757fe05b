package timeit

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/native"
)

// NewTime returns the %time and %%time magic: one execution of a statement
// or of the cell body, compiled natively like %timeit, printed as IPython
// prints it:
//
//	CPU times: user 1.2 ms, sys: 0 ns, total: 1.2 ms
//	Wall time: 1.21 ms
//
// The CPU times are the child process's resource usage (getrusage) read
// just before and just after the body, so that neither the build nor the
// process's start is counted; the wall time is testing.B's for its one
// loop. As IPython prints "Compiler : ..." when compiling took more than
// 0.1 s, the build time is printed when it took more than that.
//
// Unlike IPython's, the code runs in a child process: what it assigns does
// not persist in the notebook.
func NewTime() *magics.Declared { return magics.Declare(timeName, timeDoc, runTime) }

// timeName is %time's name.
const timeName = "time"

// timeDoc documents %time.
func timeDoc() magics.Doc {
	return magics.Doc{
		Summary: "Time one execution of compiled code, with its CPU times, as IPython's %time",
		Usage:   []string{"%time statement", "%%time", "body"},
	}
}

// compilerMin is the build time above which it is printed, as IPython
// prints a compile time above 0.1 s.
const compilerMin = 0.1 // seconds

// Times is what one execution took, in seconds.
type Times struct {
	User, Sys, Wall float64
	// Compile is the time the build took.
	Compile float64
	// BytesAlloc and Allocs are the heap bytes and allocations of the run.
	BytesAlloc, Allocs float64
	// cpu and procs are the processor and GOMAXPROCS the child reported.
	cpu   string
	procs int
}

// Text is IPython's output: the CPU times, the wall time, then the build
// time when it took more than 0.1 s.
func (t Times) Text() string {
	s := fmt.Sprintf("CPU times: user %s, sys: %s, total: %s\nWall time: %s",
		magics.FormatTime(t.User, 3), magics.FormatTime(t.Sys, 3), magics.FormatTime(t.User+t.Sys, 3), magics.FormatTime(t.Wall, 3))
	if t.Compile > compilerMin {
		s += "\nCompiler : " + magics.FormatTime(t.Compile, 3)
	}
	return s
}

// timeSnippet returns the code to time, or nil when there is none.
func timeSnippet(call magics.Call) (*native.Snippet, error) {
	if call.Cell {
		if call.Args != "" {
			return nil, magics.UsageError("Can't use statement directly after '%%%%time'!")
		}
		if strings.TrimSpace(call.Body) == "" {
			return nil, nil
		}
		sn := call.BodySnippet()
		return &sn, nil
	}
	if call.Args == "" {
		return nil, nil
	}
	sn := call.Statement(call.Args)
	return &sn, nil
}

// runTime runs %time.
func runTime(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	body, err := timeSnippet(call)
	if err != nil || body == nil {
		return nil, err
	}
	ws, err := env.NativeWorkspace(timeName)
	if err != nil {
		return nil, err
	}
	prog := native.Program{Decls: env.Decls, Benchmarks: []native.Benchmark{{
		Name: cellBench, Body: *body,
		BeforeLoop: harness.TimesBeforeLoop, AfterLoop: harness.TimesAfterLoop,
	}}}
	bin, err := ws.Build(ctx, prog)
	if err != nil {
		return nil, cellError(ctx, err, timeName)
	}
	out := magics.NewOutput(env.Publisher, timeName)
	rec := env.NewRecord(call, bin.Path)
	res, err := ws.Run(ctx, bin, native.RunOptions{
		Args:   []string{"-test.run=^$", "-test.bench=^Benchmark" + cellBench + "$", "-test.benchtime=1x", "-test.count=1", "-test.benchmem"},
		Output: out.Stdout(), Stderr: out.Stderr(),
	})
	if err != nil {
		return nil, cellError(ctx, err, timeName)
	}
	runs, err := magics.ReadBench(res.Bench)
	if err != nil {
		return nil, protocol.NewError(magics.ErrorKind(timeName), fmt.Sprintf("reading the child's timing: %v", err))
	}
	times, err := timesOf(runs)
	if err != nil {
		return nil, err
	}
	times.Compile = bin.BuildTime.Seconds()
	rec.Environment.CPU = cmp.Or(times.cpu, rec.Environment.CPU)
	rec.Environment.GOMAXPROCS = times.procs
	rec.Clock = "wall"
	rec.Results = []record.Result{times.record()}
	if env.Publisher != nil {
		env.Publisher.Display(protocol.Bundle{"text/plain": times.Text(), record.MIMEType: rec}, nil, "")
	}
	return nil, nil
}

// timesOf reads the one benchmark line of the run.
func timesOf(runs []magics.BenchRun) (Times, error) {
	for _, r := range magics.BenchRuns(runs, cellBench) {
		t := Times{cpu: r.CPU, procs: r.Procs}
		var okWall, okUser, okSys bool
		t.Wall, okWall = r.Value("sec/op")
		t.User, okUser = r.Value(harness.UserUnit)
		t.Sys, okSys = r.Value(harness.SysUnit)
		t.BytesAlloc, _ = r.Value("B/op")
		t.Allocs, _ = r.Value("allocs/op")
		if okWall && okUser && okSys {
			return t, nil
		}
	}
	return Times{}, protocol.NewError(magics.ErrorKind(timeName), "the body produced no timing (did it stop the benchmark early, with runtime.Goexit or b.SkipNow?)")
}

// record returns the figures of the execution.
func (t Times) record() record.Result {
	r := record.Result{Iterations: 1}
	r.Add("sec/op", t.Wall)
	r.Add(harness.CPUUnit, t.User+t.Sys)
	r.Add(harness.UserUnit, t.User)
	r.Add(harness.SysUnit, t.Sys)
	r.Add("B/op", t.BytesAlloc)
	r.Add("allocs/op", t.Allocs)
	return r
}
