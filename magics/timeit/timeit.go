// Package timeit implements the %timeit and %%timeit magics: IPython's
// options and output, measured natively. The statement (with the stored
// declarations it uses) is compiled with the Go toolchain into a
// testing.B benchmark whose loop is for b.Loop() { statement }, and run in a
// child process by runtime/native; golang.org/x/perf/benchfmt reads its
// results and benchmath summarises them.
//
// As in IPython, the loop count is chosen in the process that measures
// (runtime/harness's Timeit: a warm-up run, then runs of growing counts).
// One deliberate difference: with no -n, the count is the smallest of 1,
// 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k (not only 1, 2, 5 × 10^k) for which
// one run takes at least 0.2 s, so that a run takes 0.2 to 0.3 s and a
// %timeit of a 100 ns statement returns in about 2 s; it is computed from
// the time per loop of a calibration run of at least 20 ms rather than by
// trying each count. The build time, shown in
// the HTML table and kept in Result.CompileTime, is not printed in the
// text output.
package timeit

import (
	"context"
	"encoding/json"
	"fmt"
	"go/token"
	"sort"
	"strings"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/native"
)

// name is the magic's name.
const name = "timeit"

// New returns the %timeit magic.
func New() *magics.Declared { return magics.Declare(name, doc, run) }

// doc documents %timeit.
func doc() magics.Doc {
	return magics.Doc{
		Summary: "Time a statement compiled natively, with IPython's options and output",
		Usage:   []string{"%timeit [options] statement", "%%timeit [options] [setup]", "body, or labelled lines (label: statement) to compare"},
		Options: new(config).options(),
	}
}

// autorangeTarget is the least time one run should take without -n.
const autorangeTarget = 0.2 // seconds

// variant is one timed statement: the single one of %timeit, or a
// labelled variant of a comparison.
type variant struct {
	label string // "" for a plain %timeit
	bench string // benchmark name, without the Benchmark prefix
	body  native.Snippet
}

// config is a parsed call.
type config struct {
	loops, repeat, precision int // loops 0: choose automatically
	wall, quiet, ret, cpu    bool
	varName                  string
	setup                    native.Snippet
	variants                 []variant
	// label names the statement in the output when the cell holds
	// other code (Call.Shared); "" otherwise.
	label string
}

// options declares IPython's %timeit options, bound to c.
func (c *config) options() *magics.OptionSet {
	s := magics.NewOptionSet()
	s.Int(&c.loops, "n", 0, "the number `N` of loops per run").AtLeast(0).Default("chosen so that a run lasts 0.2 s or more")
	s.Int(&c.repeat, "r", 7, "the number `R` of runs").AtLeast(1)
	s.Int(&c.precision, "p", 3, "show `P` significant digits").AtLeast(1).AtMost(17)
	s.Flag(&c.wall, "t", "wall-clock time (the default)")
	s.Flag(&c.cpu, "c", "CPU time of the process")
	s.Flag(&c.quiet, "q", "quiet: print nothing")
	s.Flag(&c.ret, "o", "return the result (a *timeit.Result) as the cell's value")
	s.String(&c.varName, "v", "", "store the result in the variable `NAME`")
	return s
}

// parseCall reads the options, the setup and the body of a call. It
// returns nil when there is nothing to time (a %timeit with no
// statement, as IPython does).
func parseCall(call magics.Call) (*config, error) {
	cfg := &config{}
	opts := cfg.options()
	rest, err := opts.Parse(call.Args)
	if err != nil {
		return nil, err
	}
	if opts.Given("v") && !token.IsIdentifier(cfg.varName) {
		return nil, magics.UsageError("-v needs a variable name, not %q", cfg.varName)
	}
	restSn := call.Statement(rest)
	restSn.Source = strings.TrimRight(rest, " \t\r\n")
	if !call.Cell {
		if strings.TrimSpace(rest) == "" {
			return nil, nil
		}
		cfg.variants = []variant{{bench: cellBench, body: restSn}}
		if call.Shared {
			cfg.label = restSn.Source
		}
		return cfg, nil
	}
	if onlyComments(call.Body) {
		return nil, magics.UsageError("%%%%timeit needs a statement to time: write it on the lines after %%%%timeit (the rest of the magic line is the setup)")
	}
	cfg.setup = restSn
	vs, err := parseVariants(call.Body, call.Count, call.BodyLine)
	if err != nil {
		return nil, err
	}
	if vs == nil {
		vs = []variant{{bench: cellBench, body: call.BodySnippet()}}
	}
	cfg.variants = vs
	return cfg, nil
}

// onlyComments reports whether src holds no code: only blank lines and
// // comments.
func onlyComments(src string) bool {
	for l := range strings.Lines(src) {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "//") {
			return false
		}
	}
	return true
}

// parseVariants splits a %%timeit body into labelled variants (see
// magics.ParseVariants), each with its benchmark's name; nil for a body
// that is not a comparison.
func parseVariants(body string, cellNo, bodyLine int) ([]variant, error) {
	mvs, err := magics.ParseVariants(body, cellNo, bodyLine)
	if err != nil || mvs == nil {
		return nil, err
	}
	vs := make([]variant, len(mvs))
	for i, v := range mvs {
		vs[i] = variant{label: v.Label, bench: fmt.Sprintf("V%d_%s", i, v.Label), body: v.Body}
	}
	return vs, nil
}

// run runs %timeit.
func run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	cfg, err := parseCall(call)
	if err != nil || cfg == nil {
		return nil, err
	}
	if cfg.varName != "" && env.SetVar == nil {
		return nil, magics.UsageError("-v is not available here")
	}
	ws, err := env.NativeWorkspace(name)
	if err != nil {
		return nil, err
	}
	prog := native.Program{Decls: env.Decls}
	for _, v := range cfg.variants {
		bm := native.Benchmark{Name: v.bench, Setup: cfg.setup, Body: v.body}
		if cfg.cpu {
			bm.BeforeLoop, bm.AfterLoop = harness.TimesBeforeLoop, harness.TimesAfterLoop
		}
		prog.Benchmarks = append(prog.Benchmarks, bm)
	}
	bin, err := ws.Build(ctx, prog)
	if err != nil {
		return nil, cellError(ctx, err, name)
	}
	out := magics.NewOutput(env.Publisher, name)
	rec := env.NewRecord(call, bin.Path)
	// out caps what the child prints: native.Run does not cap it again.
	results, err := measure(ctx, ws, bin, cfg, native.RunOptions{Output: out.Stdout(), Stderr: out.Stderr(), OutputLimit: native.NoOutputLimit})
	if err != nil {
		return nil, cellError(ctx, err, name)
	}
	rec.Clock = cfg.clock()
	for _, r := range results {
		r.Clock, r.Environment = rec.Clock, rec.Environment
		rec.Results = append(rec.Results, r.record())
	}

	var value any
	var text, htmlText string
	if len(results) == 1 && results[0].Label == "" {
		results[0].statement = cfg.label
		value, text, htmlText = results[0], results[0].Text(), results[0].HTML()
	} else {
		sort.SliceStable(results, func(i, j int) bool { return results[i].Average < results[j].Average })
		c := &Comparison{Variants: results}
		value, text, htmlText = c, c.Text(), c.HTML()
	}
	if !cfg.quiet && env.Publisher != nil {
		env.Publisher.Display(protocol.Bundle{"text/plain": text, "text/html": htmlText, record.MIMEType: rec}, nil, "")
	}
	if cfg.varName != "" {
		if err := env.SetVar(cfg.varName, value); err != nil {
			return nil, protocol.NewError(magics.ErrorKind(name), fmt.Sprintf("storing the result in %s: %v", cfg.varName, err))
		}
	}
	if cfg.ret {
		return value, nil
	}
	return nil, nil
}

// clock is the clock the call's times are read from.
func (c *config) clock() string {
	if c.cpu {
		return clockCPU
	}
	return clockWall
}

// measure runs the benchmarks in one child process (see harness.Timeit):
// a warm-up and the calibration when there is no -n, then R runs of N
// loops of each. Variants of a comparison are run interleaved (run r of
// every variant before run r+1 of any, in a rotating order) so that they
// share the machine's noise.
func measure(ctx context.Context, ws *native.Workspace, bin *native.Binary, cfg *config, base native.RunOptions) ([]*Result, error) {
	plan := harness.TimeitPlan{Repeat: cfg.repeat, Target: autorangeTarget}
	for _, v := range cfg.variants {
		plan.Benchmarks = append(plan.Benchmarks, v.bench)
		plan.Loops = append(plan.Loops, cfg.loops)
	}
	js, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	opts := base
	opts.Args = []string{"-test.run=^" + harness.TimeitTest + "$", "-test.bench=^$"}
	opts.Env = append(append([]string(nil), base.Env...), harness.TimeitPlanEnv+"="+string(js))
	res, err := ws.Run(ctx, bin, opts)
	if err != nil {
		return nil, err
	}
	runs, err := magics.ReadBench(res.Bench)
	if err != nil {
		return nil, err
	}
	var results []*Result
	for _, v := range cfg.variants {
		ms := measurements(runs, v.bench, timeUnit(cfg.clock()))
		if len(ms) < cfg.repeat {
			return nil, noResult(v)
		}
		results = append(results, summarise(v.label, ms, ms[0].iters, cfg.precision, bin.BuildTime.Seconds()))
	}
	return results, nil
}

func noResult(v variant) error {
	what := "the benchmark"
	if v.label != "" {
		what = "variant " + v.label
	}
	return protocol.NewError(magics.ErrorKind(name), what+" produced no timing (did the cell stop the benchmark early, with runtime.Goexit or b.SkipNow?)")
}

// cellError turns a build or run failure of the magic named magic into
// the cell's error.
func cellError(ctx context.Context, err error, magic string) *protocol.Error {
	return magics.NativeError(ctx, err, magics.NativeErrorOptions{Magic: magic})
}

// cellBench is the name of the benchmark of a statement or body that is
// not one of labelled variants.
const cellBench = "Cell"
