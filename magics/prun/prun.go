// Package prun implements the %prun and %%prun magics: IPython's
// function-level profile (cProfile's table) for natively compiled Go,
// which here is pprof's top report: flat, flat%, sum%, cum and cum% per
// function, sorted by cumulative time (-s flat for flat), -l N rows.
//
// The body runs as the loop of a benchmark under the CPU profiler, as
// for %scalene (package profiles runs both), and the profile is saved
// where %scalene saves its own. The report is pprof's own (package
// pprofdriver), on a copy of the profile whose functions declared in
// cells are named after their cells: "spin (In[2])", and the body
// "In[5]".
package prun

import (
	"context"
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"strings"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/profiles"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/native"
)

// name is the magic's name.
const name = "prun"

// benchName is the generated benchmark: BenchmarkPrun.
const benchName = "Prun"

// New returns the %prun magic.
func New() *magics.Declared { return magics.Declare(name, doc, run) }

// doc documents %prun.
func doc() magics.Doc {
	return magics.Doc{
		Summary: "Function-level CPU profile of compiled code, pprof's top, as IPython's %prun",
		Usage:   []string{"%prun [options] statement", "%%prun [options]", "body"},
		Options: new(config).options(),
		More:    []string{"The profile is saved in $" + profiles.DirEnv + " or ~/pprof, for go tool pprof."},
	}
}

// config is a parsed call.
type config struct {
	sort     string // "cum" or "flat", and IPython's names of them
	flat     bool   // sort by flat rather than cum
	limit    int    // rows; 0 for pprof's default
	profiles profiles.Options
	body     native.Snippet
}

// options declares the options, bound to c.
func (c *config) options() *magics.OptionSet {
	s := magics.NewOptionSet()
	s.String(&c.sort, "s", "cum", "sort by `KEY`: cum (cumulative, cumtime) or flat (time, tottime)")
	s.Int(&c.limit, "l", 0, "show `N` rows").AtLeast(1).Default("pprof's, all")
	c.profiles.Declare(s)
	return s
}

func parse(call magics.Call) (*config, error) {
	c := &config{}
	rest, err := c.options().Parse(call.Args)
	if err != nil {
		return nil, err
	}
	switch c.sort {
	case "cum", "cumulative", "cumtime":
	case "flat", "time", "tottime":
		c.flat = true
	default:
		return nil, magics.UsageError("-s sorts by cum (cumulative) or flat (time), not %q", c.sort)
	}
	if call.Cell {
		if strings.TrimSpace(rest) != "" {
			return nil, magics.UsageError("%%%%prun takes options on its line and the code below it, not %q", strings.TrimSpace(rest))
		}
		c.body = call.BodySnippet()
	} else {
		c.body = call.Statement(rest)
	}
	if strings.TrimSpace(c.body.Source) == "" {
		return nil, magics.UsageError("nothing to profile: write %%prun [options] STATEMENT, or %%%%prun [options] with code below")
	}
	return c, nil
}

// run profiles the body and publishes pprof's top table.
func run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	c, err := parse(call)
	if err != nil {
		return nil, err
	}
	prog := native.Program{Decls: env.Decls, Benchmarks: []native.Benchmark{{Name: benchName, Body: c.body}}}
	run, err := profiles.Start(ctx, name, call, env, c.profiles, prog)
	if err != nil {
		return nil, err
	}
	rec := env.NewRecord(call, run.Binary().Path)
	res, err := run.Run(ctx, benchName, name+".cpu", []string{"-test.benchtime=" + c.profiles.Duration.String()},
		magics.NewOutput(env.Publisher, name).Stdout())
	if err != nil {
		return nil, err
	}
	run.Finish()
	top, err := Top(res.Profile, call.Count, c.flat, c.limit)
	if err != nil {
		return nil, protocol.NewError(magics.ErrorKind(name), err.Error())
	}
	top.Path = res.Path
	bundle := top.Bundle()
	// The record of the run: its executions and time per execution, as
	// the benchmark measured them under the profiler.
	rec.Clock = "wall"
	out := record.Result{Iterations: int(max(res.Executions, 1))}
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
// benchmark holding the body is "In[count]" (its own file is the
// generated one).
func cellNames(p *profile.Profile, count int) *profile.Profile {
	q := p.Copy()
	for _, fn := range q.Function {
		short := fn.Name
		if i := strings.LastIndex(short, "/"); i >= 0 {
			short = short[i+1:]
		}
		_, short, _ = strings.Cut(short, ".") // the package: perfnbcell.
		switch {
		case strings.HasSuffix(fn.Name, ".Benchmark"+benchName):
			fn.Name = cell.File(count)
		case isCellFile(fn.Filename) && short != "":
			fn.Name = fmt.Sprintf("%s (%s)", short, fn.Filename)
		default:
			continue
		}
		fn.SystemName = fn.Name
	}
	return q
}

// isCellFile reports whether name is a cell's file, In[N].
func isCellFile(name string) bool {
	_, ok := cell.ParseFile(name)
	return ok
}
