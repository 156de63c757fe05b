// Package memit implements the %memit and %%memit magics: the peak
// resident memory of a natively compiled statement and its increment over
// the memory in use before it, as memory_profiler's %memit reports them,
// with the Go heap's view beside them.
//
//	%memit [options] statement
//	%%memit [options] [setup]
//	body
//
// The statement (or body) is compiled with the declarations of earlier
// cells into a benchmark and run once in a child process:
//
//	setup; harness.MemStart(); for b.Loop() { body }; harness.MemStop()
//
// with -test.benchtime=1x, so the body runs exactly once per run (the
// testing package's first run with N=1 is the only one when b.Loop and a
// fixed count of 1 are used). MemStart collects garbage, returns free
// memory to the system, resets the kernel's high-water mark of resident
// memory through /proc/self/clear_refs and reads the baseline; MemStop
// reads the high-water mark (VmHWM), so the peak is exact and short spikes
// are not missed, unlike memory_profiler's sampling. Where the mark cannot
// be reset the child samples resident memory every -i seconds instead.
//
// Its options have memory_profiler's meanings (-r -t -i -c -o -q), and
// -m/--limit bounds the child's memory: when resident memory or the Go
// heap exceeds it, the child is stopped (the harness checks every
// millisecond; the engine's own watch, set a little higher, is the
// backstop) and the cell fails with MemoryLimitExceeded. They are declared
// once, in options.go, which writes their help (%memit?,
// docs/magics.md).
//
// The result's figures: peak RSS, increment, baseline (text/plain has
// memory_profiler's line, text/html a table), and from runtime/metrics the
// Go heap's peak (sampled every millisecond), the bytes and objects
// allocated, the number of collections and their total pause, and the
// body's wall time. Errors are named as for %timeit: CompileError, panic,
// Crash, Exit, Timeout, Interrupted, MemoryLimitExceeded.
package memit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/native"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// name is the magic's name.
const name = "memit"

// benchName is the generated benchmark's name (BenchmarkMemit).
const benchName = "Memit"

// New returns the %memit magic.
func New() *magics.Declared { return magics.Declare(name, doc, run) }

// doc documents %memit.
func doc() magics.Doc {
	return magics.Doc{
		Summary: "Peak memory and increment of a compiled statement, as memory_profiler's %memit",
		Usage:   []string{"%memit [options] statement", "%%memit [options] [setup]", "body"},
		Options: new(options).declare(),
	}
}

// run runs %memit.
func run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	opts, err := parseOptions(call)
	if err != nil {
		return nil, err
	}
	ws, err := env.NativeWorkspace(name)
	if err != nil {
		return nil, err
	}

	limit := opts.limit
	if limit == 0 {
		if limit, err = defaultLimit(); err != nil {
			return nil, err
		}
	}
	bin, err := ws.Build(ctx, program(call, env, opts))
	if err != nil {
		return nil, runError(ctx, err, 0, false)
	}

	result, err := os.CreateTemp(ws.Dir(), "memit-*.jsonl")
	if err != nil {
		return nil, protocol.NewError(magics.ErrorKind(name), fmt.Sprintf("cannot create the result file: %v", err))
	}
	result.Close()
	defer os.Remove(result.Name())

	runOpts := native.RunOptions{
		Args: []string{"-test.run=^$", "-test.bench=^Benchmark" + benchName + "$",
			"-test.benchtime=1x", "-test.count=" + strconv.Itoa(opts.repeat)},
		Timeout: opts.timeout,
	}
	if limit > 0 {
		// The harness stops the child at the limit and says why; the
		// engine's limit, a little higher, is the backstop.
		runOpts.MemoryLimit = limit + max(limit/8, 64*mib)
	}
	plan, err := json.Marshal(harness.MemitPlan{Result: result.Name(), Method: os.Getenv(harness.MemMethodEnv),
		Interval: opts.interval, Children: opts.children, Limit: limit})
	if err != nil {
		return nil, protocol.NewError(magics.ErrorKind(name), fmt.Sprintf("cannot write the child's plan: %v", err))
	}
	runOpts.Env = []string{harness.MemitPlanEnv + "=" + string(plan)}
	runOpts.Output = magics.NewOutput(env.Publisher, name).Stdout()
	runOpts.OutputLimit = native.NoOutputLimit // the Output caps

	rec := env.NewRecord(call, bin.Path)
	_, runErr := ws.Run(ctx, bin, runOpts)
	data, readErr := os.ReadFile(result.Name())
	reports, parseErr := harness.ReadMemReports(data)
	for _, r := range reports {
		if r.LimitExceeded {
			return nil, limitError(r, opts.limit == 0)
		}
	}
	if runErr != nil {
		return nil, runError(ctx, runErr, limit, opts.limit == 0)
	}
	if readErr != nil || parseErr != nil {
		return nil, protocol.NewError(magics.ErrorKind(name), fmt.Sprintf("cannot read the child's memory report: %v", errors.Join(readErr, parseErr)))
	}

	res := newResult(reports, opts)
	if !opts.quiet && env.Publisher != nil {
		env.Publisher.Display(res.bundle(rec), nil, "")
	}
	if opts.output && res != nil {
		return res, nil
	}
	return nil, nil
}

// program generates the benchmark: setup, then the body between MemStart
// and MemStop.
func program(call magics.Call, env magics.Env, o options) native.Program {
	body := call.BodySnippet()
	if !call.Cell {
		// The statement follows the options on the magic line.
		body = call.Statement(o.body)
	}
	return native.Program{
		Decls: env.Decls,
		Benchmarks: []native.Benchmark{{
			Name:       benchName,
			Setup:      call.Statement(o.setup),
			Body:       body,
			BeforeLoop: "harness.MemStart()",
			AfterLoop:  "harness.MemStop()",
		}},
	}
}

// defaultLimit is the child's memory limit when -m is not given: the
// engine's default (see native.MemoryLimitEnv), or sysmem.Off.
func defaultLimit() (int64, error) {
	n, err := sysmem.DefaultLimit(native.MemoryLimitEnv, sysmem.HalfOfAvailable)
	if err != nil {
		return 0, magics.UsageError("%v", err)
	}
	return n, nil
}

// limitText tells the user how to change the limit.
func limitText(isDefault bool) string {
	if isDefault {
		return "by default half of the available memory, or " + native.MemoryLimitEnv + "; raise it with -m, for example %memit -m 2GiB"
	}
	return "raise it with -m/--limit, for example %memit -m 2GiB"
}

// limitError reports the harness's own stop at the limit, which says
// what crossed it. It is the cell's error even when the cell was
// interrupted meanwhile.
func limitError(r harness.MemReport, isDefault bool) *protocol.Error {
	what := "resident memory"
	if r.Note != "" {
		what = r.Note
	}
	summary := fmt.Sprintf("memory limit exceeded: %s reached %s, over the limit of %s; the child process was stopped (%s)",
		what, mibText(r.Peak), mibText(r.Limit), limitText(isDefault))
	return magics.NativeError(context.Background(), &native.Error{Kind: native.OutOfMemory, Summary: summary}, magics.NativeErrorOptions{Magic: name})
}

// runError turns a failed build or run of the child into the cell's
// error, named as every magic names them (see magics.NativeError). When
// the engine stops the child at its memory limit, the error names limit,
// the one the user can change with -m, rather than the engine's, which is
// a little higher.
func runError(ctx context.Context, err error, limit int64, isDefault bool) *protocol.Error {
	o := magics.NativeErrorOptions{Magic: name}
	if limit > 0 {
		o.MemoryLimit = fmt.Sprintf("memory limit exceeded: the child used more than %s and was stopped (%s)", mibText(limit), limitText(isDefault))
	}
	return magics.NativeError(ctx, err, o)
}
