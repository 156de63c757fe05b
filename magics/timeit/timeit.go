// Package timeit implements the %timeit and %%timeit magics: IPython's
// options and output, measured natively. The statement (with the stored
// declarations it uses) is compiled with the Go toolchain into a
// testing.B benchmark whose loop is for b.Loop() { statement }, and run in a
// child process by runtime/native; golang.org/x/perf/benchfmt reads its
// results and benchmath summarises them.
//
// One deliberate difference from IPython: with no -n, the loop count is
// the smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k (not only 10^k)
// for which one run takes at least 0.2 s, so that a run takes 0.2 to 0.3 s
// rather than up to 2 s, and a %timeit of a 100 ns statement returns in
// about 2 s. It is computed from one calibration run of about 50 ms rather
// than by trying each count. The build time, shown in
// the HTML table and kept in Result.CompileTime, is not printed in the
// text output.
package timeit

import (
	"context"
	"fmt"
	"go/token"
	"sort"
	"strings"
	"unicode"

	"github.com/perfnb/perfnb/kernel"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/native"
)

// Magic is the timeit magic.
type Magic struct{}

// New returns the timeit magic.
func New() *Magic { return &Magic{} }

// Name returns "timeit".
func (*Magic) Name() string { return "timeit" }

// Doc describes the magic in one line.
func (*Magic) Doc() string {
	return "Time a statement compiled natively: %timeit [-n N] [-r R] [-p P] [-q] [-o] [-v NAME] statement; %%timeit [options] [setup] then the body, or labelled variants to compare"
}

// autorangeTarget is the least time one run should take without -n.
const autorangeTarget = 0.2 // seconds

// calibrationTime is how long the calibration run lasts.
const calibrationTime = "50ms"

// optionSpec lists IPython's %timeit options.
func optionSpec() magics.OptionSpec {
	return magics.OptionSpec{Flags: []string{"q", "o", "t", "c"}, Values: []string{"n", "r", "p", "v"}}
}

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
	quiet, ret, cpu          bool
	varName                  string
	setup                    native.Snippet
	variants                 []variant
}

// parseCall reads the options, the setup and the body of a call. It
// returns nil when there is nothing to time (a %timeit with no
// statement, as IPython does).
func parseCall(call magics.Call) (*config, error) {
	opts, rest, err := magics.ParseOptions(call.Args, optionSpec())
	if err != nil {
		return nil, err
	}
	cfg := &config{quiet: opts.Has("q"), ret: opts.Has("o"), cpu: opts.Has("c"), varName: opts.String("v", "")}
	if cfg.loops, err = opts.Int("n", 0); err != nil {
		return nil, err
	}
	if cfg.repeat, err = opts.Int("r", 7); err != nil {
		return nil, err
	}
	if cfg.precision, err = opts.Int("p", 3); err != nil {
		return nil, err
	}
	switch {
	case cfg.loops < 0:
		return nil, usage("-n needs a loop count of at least 1 (or 0 to choose it automatically)")
	case cfg.repeat < 1:
		return nil, usage("-r needs at least 1 run")
	case cfg.precision < 1 || cfg.precision > 17:
		return nil, usage("-p needs a number of significant digits from 1 to 17")
	case opts.Has("v") && !token.IsIdentifier(cfg.varName):
		return nil, usage(fmt.Sprintf("-v needs a variable name, not %q", cfg.varName))
	}
	restSn := native.Snippet{Source: strings.TrimRight(rest, " \t\r\n"), Cell: call.Count, Line: call.Line,
		Col: call.ArgsCol + len(call.Args) - len(rest)}
	if !call.Cell {
		if strings.TrimSpace(rest) == "" {
			return nil, nil
		}
		cfg.variants = []variant{{bench: "Cell", body: restSn}}
		return cfg, nil
	}
	cfg.setup = restSn
	vs, err := parseVariants(call.Body, call.Count, call.BodyLine)
	if err != nil {
		return nil, err
	}
	if vs == nil {
		vs = []variant{{bench: "Cell", body: native.Snippet{Source: call.Body, Cell: call.Count, Line: call.BodyLine, Col: 1}}}
	}
	cfg.variants = vs
	return cfg, nil
}

func usage(msg string) error { return &kernel.Error{Name: "UsageError", Value: msg} }

// labelLine splits "label: statement" into its label and the column (0-based
// byte offset) where the statement starts. A Go label (a label alone on its
// line, or before for, switch, select or a block) is not a variant label.
func labelLine(line string) (label string, stmtAt int, ok bool) {
	i := 0
	for i < len(line) {
		c := rune(line[i])
		if c == '_' || unicode.IsLetter(c) || i > 0 && unicode.IsDigit(c) {
			i++
			continue
		}
		break
	}
	if i == 0 || i >= len(line) || line[i] != ':' || strings.HasPrefix(line[i:], ":=") {
		return "", 0, false
	}
	j := i + 1
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	stmt := line[j:]
	if strings.TrimSpace(stmt) == "" {
		return "", 0, false
	}
	for _, kw := range []string{"for", "switch", "select", "{"} {
		if stmt == kw || strings.HasPrefix(stmt, kw+" ") || strings.HasPrefix(stmt, kw+"{") || kw == "{" && strings.HasPrefix(stmt, "{") {
			return "", 0, false
		}
	}
	return line[:i], j, true
}

// parseVariants splits a %%timeit body into labelled variants. The rule: a
// body is a comparison when its first line of code (blank lines and //
// comments aside) is "label: statement", with the label at the start of the
// line, and at least two such lines exist. Each label line starts a
// variant; the lines after it, up to the next label line, continue it. It
// returns nil for a body that is not a comparison.
func parseVariants(body string, cellNo, bodyLine int) ([]variant, error) {
	lines := strings.Split(body, "\n")
	var vs []variant
	var cur []string
	flush := func() {
		if len(vs) > 0 {
			vs[len(vs)-1].body.Source = strings.TrimRight(strings.Join(cur, "\n"), " \t\r\n")
		}
	}
	labels := 0
	for _, l := range lines {
		if _, _, ok := labelLine(l); ok {
			labels++
		}
	}
	if labels < 2 {
		return nil, nil
	}
	seen := map[string]bool{}
	for i, l := range lines {
		label, at, ok := labelLine(l)
		if !ok {
			t := strings.TrimSpace(l)
			if len(vs) == 0 {
				if t == "" || strings.HasPrefix(t, "//") {
					continue
				}
				return nil, nil // code before the first label: not a comparison
			}
			cur = append(cur, l)
			continue
		}
		if seen[label] {
			return nil, usage(fmt.Sprintf("the variant label %q is used twice", label))
		}
		seen[label] = true
		flush()
		vs = append(vs, variant{
			label: label,
			bench: fmt.Sprintf("V%d_%s", len(vs), label),
			body:  native.Snippet{Cell: cellNo, Line: bodyLine + i, Col: at + 1},
		})
		cur = []string{l[at:]}
	}
	flush()
	return vs, nil
}

// benchArgs are the test binary's flags to run one or more benchmarks.
func benchArgs(names ...string) []string {
	return []string{"-test.run=^$", "-test.bench=^Benchmark(" + strings.Join(names, "|") + ")$"}
}

// autoLoops is the smallest loop count of the series 1, 1.5, 2, 2.5, 3, 4,
// 5, 6, 8 × 10^k (whole numbers only) for which a run lasts at least
// autorangeTarget, given the time of one loop. The steps are finer than
// IPython's powers of ten so that a run lasts 0.2 to 0.3 s, not up to 2 s.
func autoLoops(secPerOp float64) int {
	steps := []int{10, 15, 20, 25, 30, 40, 50, 60, 80} // tenths
	for n := 1; n <= 1e10; n *= 10 {
		for _, m := range steps {
			if m*n%10 != 0 {
				continue
			}
			if c := m * n / 10; float64(c)*secPerOp >= autorangeTarget*(1-1e-9) {
				return c
			}
		}
	}
	return 1e10
}

// Run runs the magic.
func (*Magic) Run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	cfg, err := parseCall(call)
	if err != nil || cfg == nil {
		return nil, err
	}
	if cfg.varName != "" && env.SetVar == nil {
		return nil, usage("-v is not available here")
	}
	ws, err := env.NativeWorkspace("timeit")
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
		return nil, cellError(ctx, err)
	}
	out := magics.NewOutput(env.Publisher, "timeit")
	rec := env.NewRecord(call, bin.Path)
	results, err := measure(ctx, ws, bin, cfg, native.RunOptions{Output: out.Stdout(), Stderr: out.Stderr()})
	if err != nil {
		return nil, cellError(ctx, err)
	}
	rec.Clock = cfg.clock()
	for _, r := range results {
		r.Clock, r.Environment = rec.Clock, rec.Environment
		rec.Results = append(rec.Results, r.record())
	}

	var value any
	var text, htmlText string
	if len(results) == 1 && results[0].Label == "" {
		value, text, htmlText = results[0], results[0].text(), results[0].html()
	} else {
		sort.SliceStable(results, func(i, j int) bool { return results[i].Average < results[j].Average })
		c := &Comparison{Variants: results}
		value, text, htmlText = c, c.text(), c.html()
	}
	if !cfg.quiet && env.Publisher != nil {
		env.Publisher.Display(kernel.Bundle{"text/plain": text, "text/html": htmlText, record.MIMEType: rec}, nil, "")
	}
	if cfg.varName != "" {
		if err := env.SetVar(cfg.varName, value); err != nil {
			return nil, &kernel.Error{Name: "TimeitError", Value: fmt.Sprintf("storing the result in %s: %v", cfg.varName, err)}
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

// measure runs the benchmarks: calibration when no -n, then R runs of N
// loops. Variants of a comparison are run interleaved (run r of every
// variant before run r+1 of any, in a rotating order) so that they share
// the machine's noise.
func measure(ctx context.Context, ws *native.Workspace, bin *native.Binary, cfg *config, base native.RunOptions) ([]*Result, error) {
	run := func(args ...string) (map[string][]measurement, error) {
		opts := base
		opts.Args = args
		res, err := ws.Run(ctx, bin, opts)
		if err != nil {
			return nil, err
		}
		return parseBench(res.Bench, timeUnit(cfg.clock()))
	}
	loops := make([]int, len(cfg.variants))
	for i, v := range cfg.variants {
		if cfg.loops > 0 {
			loops[i] = cfg.loops
			continue
		}
		got, err := run(append(benchArgs(v.bench), "-test.benchtime="+calibrationTime)...)
		if err != nil {
			return nil, err
		}
		ms := got[v.bench]
		if len(ms) == 0 {
			return nil, noResult(v)
		}
		loops[i] = autoLoops(ms[len(ms)-1].secPerOp)
	}
	runs := map[string][]measurement{}
	if len(cfg.variants) == 1 {
		v := cfg.variants[0]
		got, err := run(append(benchArgs(v.bench), fmt.Sprintf("-test.benchtime=%dx", loops[0]),
			fmt.Sprintf("-test.count=%d", cfg.repeat), "-test.benchmem")...)
		if err != nil {
			return nil, err
		}
		runs = got
	} else {
		for r := range cfg.repeat {
			for j := range cfg.variants {
				i := (j + r) % len(cfg.variants)
				v := cfg.variants[i]
				got, err := run(append(benchArgs(v.bench), fmt.Sprintf("-test.benchtime=%dx", loops[i]),
					"-test.count=1", "-test.benchmem")...)
				if err != nil {
					return nil, err
				}
				runs[v.bench] = append(runs[v.bench], got[v.bench]...)
			}
		}
	}
	var results []*Result
	for i, v := range cfg.variants {
		ms := runs[v.bench]
		if len(ms) == 0 {
			return nil, noResult(v)
		}
		results = append(results, summarise(v.label, ms, loops[i], cfg.precision, bin.BuildTime.Seconds()))
	}
	return results, nil
}

func noResult(v variant) error {
	what := "the benchmark"
	if v.label != "" {
		what = "variant " + v.label
	}
	return &kernel.Error{Name: "TimeitError", Value: what + " produced no timing (did the cell stop the benchmark early, with runtime.Goexit or b.SkipNow?)"}
}

// cellError turns a build or run failure into the cell's error.
func cellError(ctx context.Context, err error) *kernel.Error {
	return magics.NativeError(ctx, err, magics.NativeErrorOptions{Magic: "timeit"})
}
