// Package prun implements the %prun and %%prun magics: IPython's
// function-level profile (cProfile's table) for natively compiled Go,
// which here is pprof's top report: flat, flat%, sum%, cum and cum% per
// function, sorted by cumulative time (-s flat for flat), -l N rows.
//
// The body runs as the loop of a benchmark under the CPU profiler, as
// for %scalene (scalene.RunProfiled), and the profile is saved where
// %scalene saves its own (package profiles). The report is pprof's own
// (package pprofdriver), on a copy of the profile whose functions
// declared in cells are named after their cells: "spin (In[2])", and the
// body "In[5]".
package prun

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/profiles"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/magics/scalene"
	"github.com/perfnb/perfnb/runtime/native"
)

// benchName is the generated benchmark: BenchmarkPrun.
const benchName = "Prun"

// Defaults.
const (
	defaultDuration = time.Second
	defaultTimeout  = 10 * time.Minute
)

var optionSpec = magics.OptionSpec{
	Values: []string{"l", "s", "duration", "timeout", "profile-dir"},
}

// Magic is the prun magic.
type Magic struct{}

// New returns the prun magic.
func New() *Magic { return &Magic{} }

// Name returns "prun".
func (*Magic) Name() string { return "prun" }

// Doc describes the magic in one line.
func (*Magic) Doc() string {
	return "Function-level CPU profile of natively compiled code, pprof's top: flat, flat%, sum%, cum, cum% per function " +
		"(-s cum|flat -l N --duration D --timeout D --profile-dir DIR; the profile is saved in $PPROF_TMPDIR or ~/pprof)"
}

// config is a parsed call.
type config struct {
	flat       bool // sort by flat rather than cum
	limit      int  // rows; 0 for pprof's default
	duration   time.Duration
	timeout    time.Duration
	profileDir string
	body       native.Snippet
}

func parse(call magics.Call) (*config, error) {
	opts, rest, err := magics.ParseOptions(call.Args, optionSpec)
	if err != nil {
		return nil, err
	}
	c := &config{profileDir: opts.String("profile-dir", "")}
	switch s := opts.String("s", "cum"); s {
	case "cum", "cumulative", "cumtime":
	case "flat", "time", "tottime":
		c.flat = true
	default:
		return nil, magics.UsageError("-s sorts by cum (cumulative) or flat (time), not %q", s)
	}
	if c.limit, err = opts.Int("l", 0); err != nil {
		return nil, err
	}
	if opts.Has("l") && c.limit < 1 {
		return nil, magics.UsageError("-l needs a number of rows of at least 1, not %d", c.limit)
	}
	if c.duration, err = opts.Duration("duration", defaultDuration); err != nil {
		return nil, err
	}
	if c.duration <= 0 {
		return nil, magics.UsageError("--duration must be positive, for example --duration 2s")
	}
	if c.timeout, err = opts.Duration("timeout", defaultTimeout); err != nil {
		return nil, err
	}
	if call.Cell {
		if strings.TrimSpace(rest) != "" {
			return nil, magics.UsageError("%%%%prun takes options on its line and the code below it, not %q", strings.TrimSpace(rest))
		}
		c.body = native.Snippet{Source: call.Body, Cell: call.Count, Line: call.BodyLine}
	} else {
		col := cmp.Or(call.ArgsCol, 1+len("%"+call.Name+" ")) + len(call.Args) - len(rest)
		c.body = native.Snippet{Source: rest, Cell: call.Count, Line: call.Line, Col: col}
	}
	if strings.TrimSpace(c.body.Source) == "" {
		return nil, magics.UsageError("nothing to profile: write %%prun [options] STATEMENT, or %%%%prun [options] with code below")
	}
	return c, nil
}

// Run profiles the body and publishes pprof's top table.
func (m *Magic) Run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	c, err := parse(call)
	if err != nil {
		return nil, err
	}
	ws, err := env.NativeWorkspace("prun")
	if err != nil {
		return nil, err
	}
	dir, err := profiles.Dir(c.profileDir)
	if err != nil {
		return nil, protocol.NewError(magics.ErrorKind("prun"), err.Error())
	}
	prog := native.Program{Decls: env.Decls, Benchmarks: []native.Benchmark{{Name: benchName, Body: c.body}}}
	bin, err := ws.Build(ctx, prog)
	if err != nil {
		return nil, magics.NativeError(ctx, err, magics.NativeErrorOptions{Magic: "prun"})
	}
	path := profiles.UniquePath(dir, profiles.Namer(call.Count, time.Now())("prun.cpu"))
	p, res, err := scalene.RunProfiled(ctx, ws, bin, scalene.ProfiledRun{Bench: benchName, Path: path, Magic: "prun",
		Args: []string{"-test.benchtime=" + c.duration.String(), "-test.cpuprofile=" + path}, Timeout: c.timeout,
		Output: magics.NewOutput(env.Publisher, "prun").Stdout()})
	if err != nil {
		return nil, err
	}
	if keep, err := profiles.Keep(); err == nil {
		profiles.Prune(dir, keep)
	}
	top, err := Top(p, call.Count, c.flat, c.limit)
	if err != nil {
		return nil, protocol.NewError(magics.ErrorKind("prun"), err.Error())
	}
	top.Path = path
	bundle := top.Bundle()
	// The record of the run: its executions and time per execution, as
	// the benchmark measured them under the profiler.
	rec := env.NewRecord(call, bin.Path)
	rec.Clock = "wall"
	out := record.Result{Iterations: int(max(res.N, 1))}
	if res.NsPerOp > 0 {
		out.Add("sec/op", res.NsPerOp/1e9)
	}
	rec.Results = append(rec.Results, out)
	bundle[record.MIMEType] = rec
	env.Publisher.Display(bundle, nil, "")
	return nil, nil
}

// cellNames returns a copy of p whose functions are named after the cells
// that declare them: a function of a file In[N] is "name (In[N])", the
// benchmark holding the body is "In[cell]" (its own file is the
// generated one).
func cellNames(p *profile.Profile, cell int) *profile.Profile {
	q := p.Copy()
	for _, fn := range q.Function {
		short := fn.Name
		if i := strings.LastIndex(short, "/"); i >= 0 {
			short = short[i+1:]
		}
		_, short, _ = strings.Cut(short, ".") // the package: perfnbcell.
		switch {
		case strings.HasSuffix(fn.Name, ".Benchmark"+benchName):
			fn.Name = fmt.Sprintf("In[%d]", cell)
		case strings.HasPrefix(fn.Filename, "In[") && short != "":
			fn.Name = fmt.Sprintf("%s (%s)", short, fn.Filename)
		default:
			continue
		}
		fn.SystemName = fn.Name
	}
	return q
}
