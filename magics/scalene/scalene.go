// Package scalene implements the %scalene and %%scalene magics: a line
// profile of CPU time and allocations in the spirit of Python's Scalene,
// measured on natively compiled code with Go's own profilers, plus pprof's
// flame graphs.
//
// How it measures:
//   - The body becomes the loop of a benchmark (for b.Loop() { body })
//     compiled with the stored declarations by runtime/native. //line
//     directives make every profile location name its cell line, In[N]:L.
//   - CPU: one run with -test.cpuprofile at Go's default 100 Hz and
//     -test.benchtime=D, so that a short body is repeated until the
//     profile has enough samples (raising the rate under-counts on small
//     machines).
//   - Memory: a separate run with -test.memprofilerate=1 (every allocation
//     recorded, exact figures) and -test.benchtime=1x: one execution of
//     the body, so the CPU run is not slowed by it. go test calls
//     runtime.GC() before writing the allocs profile, so it is complete.
//   - Each sample is attributed to its innermost cell line (the first frame
//     from the leaf whose file is In[N]), and its CPU time is classified by
//     the leaf frame: Go (cell and library code), runtime, or system.
//
// Beside the profile, the compiler's decisions on each line: the build
// that is profiled is compiled with -m=2 and -d=ssa/check_bce/debug=1
// (CompilerFlags), which report without changing the code, and their
// output is read with the lines it names (ParseCompilerText). There is no
// second build: the decisions describe the binary profiled, and the go
// command replays the messages from its cache when the package is built
// already. The text form is read rather than -json=0,DIR because the
// //line directives already map its positions to In[N]:L (the JSON
// logger reports positions in the generated file) and because the cache
// replays it. The compiler reports a function it cannot inline once, at
// its declaration; the table repeats the reason on each line that calls
// it, since that is where the reader looks.
//
// A %%scalene body of labelled lines ("fast: f(x)", "slow: g(x)", as
// %%timeit takes them) profiles each variant in its own runs of one
// binary and shows the tables side by side, with pprof's difference
// flame graph of the second against the first (-diff_base).
//
// The profiles are saved by package profiles, where pprof saves the
// profiles it fetches: $PPROF_TMPDIR if set, else ~/pprof, as
// perfnb.cell5.cpu.20261121-130501.pb.gz and
// perfnb.cell5.mem.20261121-130501.pb.gz (--profile-dir DIR chooses
// another directory), the newest profiles.DefaultKeep kept.
package scalene

import (
	"context"
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"html/template"
	"io"
	"strings"

	"github.com/perfnb/perfnb/internal/atomicfile"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/profiles"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/native"
)

// name is the magic's name.
const name = "scalene"

// benchName is the name of the generated benchmark: BenchmarkScalene,
// and BenchmarkScalene_LABEL for a variant.
const benchName = "Scalene"

// Defaults, as Scalene's where it has one.
const (
	defaultThreshold = 1.0 // --cpu-percent-threshold, percent
	defaultAsmLines  = 5   // --asm-lines
	memoryRuns       = 1   // executions of the body in the memory run
)

// New returns the %scalene magic.
func New() *magics.Declared { return magics.Declare(name, doc, run) }

// doc documents %scalene.
func doc() magics.Doc {
	return magics.Doc{
		Summary: "Line-level CPU and memory profile of compiled code, with pprof's flame graphs",
		Usage:   []string{"%scalene [options] statement", "%%scalene [options]", "body, or labelled lines (label: statement) to compare"},
		Options: new(config).options(),
		More: []string{"Self and total CPU time and allocations per line; the compiler's inlining, escape and bounds-check " +
			"decisions beside each line. Profiles are saved in $" + profiles.DirEnv + " or ~/pprof, for go tool pprof."},
	}
}

// variant is one profiled body: the only one, or a labelled variant.
type variant struct {
	label string // "" when the body is not a comparison
	body  native.Snippet
}

// bench is the variant's benchmark name, without the Benchmark prefix.
func (v variant) bench() string {
	if v.label == "" {
		return benchName
	}
	return benchName + "_" + v.label
}

// config is a parsed call.
type config struct {
	cpuOnly, memOnly bool
	cpu, mem         bool
	reduced          bool
	threshold        float64
	profiles         profiles.Options
	outfile          string
	noFlame          bool
	asmFlag          bool
	asmLines         int
	asm              int // hottest lines to disassemble; 0 for none
	variants         []variant
}

// options declares the options, bound to c.
func (c *config) options() *magics.OptionSet {
	s := magics.NewOptionSet()
	s.Flag(&c.cpuOnly, "cpu-only", "profile CPU time only")
	s.Flag(&c.memOnly, "memory-only", "profile allocations only")
	s.Flag(&c.reduced, "reduced-profile", "show only the lines above the threshold")
	s.Float(&c.threshold, "cpu-percent-threshold", defaultThreshold, "the threshold of --reduced-profile, in `PERCENT` of the CPU time (or of the bytes)")
	c.profiles.Declare(s)
	s.Flag(&c.asmFlag, "asm", "show the instructions of the hottest lines")
	s.Int(&c.asmLines, "asm-lines", defaultAsmLines, "with --asm, the `N` hottest lines").AtLeast(1)
	s.String(&c.outfile, "outfile", "", "save the output as an HTML page in `FILE`")
	s.Flag(&c.noFlame, "no-flamegraph", "leave out the flame graphs")
	return s
}

func parse(call magics.Call) (*config, error) {
	c := &config{}
	opts := c.options()
	rest, err := opts.Parse(call.Args)
	if err != nil {
		return nil, err
	}
	c.cpu, c.mem = !c.memOnly, !c.cpuOnly
	if c.asmFlag || opts.Given("asm-lines") {
		c.asm = c.asmLines
	}
	switch {
	case !c.cpu && !c.mem:
		return nil, magics.UsageError("--cpu-only and --memory-only exclude each other")
	case c.asm > 0 && !c.cpu:
		return nil, magics.UsageError("--asm shows the instructions of the hottest lines in CPU time: it needs the CPU profile, not --memory-only")
	}
	return c, c.parseBody(call, rest)
}

// parseBody reads the statement of %scalene or the body of %%scalene,
// with its labelled variants.
func (c *config) parseBody(call magics.Call, rest string) error {
	if !call.Cell {
		c.variants = []variant{{body: call.Statement(rest)}}
	} else {
		if strings.TrimSpace(rest) != "" {
			return magics.UsageError("%%%%scalene takes options on its line and the code below it, not %q", strings.TrimSpace(rest))
		}
		vs, err := magics.ParseVariants(call.Body, call.Count, call.BodyLine)
		if err != nil {
			return err
		}
		for _, v := range vs {
			c.variants = append(c.variants, variant{label: v.Label, body: v.Body})
		}
		if vs == nil {
			c.variants = []variant{{body: call.BodySnippet()}}
		}
	}
	if strings.TrimSpace(c.variants[0].body.Source) == "" {
		return magics.UsageError("nothing to profile: write %%scalene [options] STATEMENT, or %%%%scalene [options] with code below")
	}
	return nil
}

func scaleneError(err error) *protocol.Error {
	return protocol.NewError(magics.ErrorKind(name), err.Error())
}

// run profiles the body (each variant of it) and publishes the line
// table and flame graphs.
func run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	c, err := parse(call)
	if err != nil {
		return nil, err
	}
	prog := native.Program{Decls: env.Decls, GCFlags: CompilerFlags, Symbols: c.asm > 0}
	for _, v := range c.variants {
		prog.Benchmarks = append(prog.Benchmarks, native.Benchmark{Name: v.bench(), Body: v.body})
	}
	run, err := profiles.Start(ctx, name, call, env, c.profiles, prog)
	if err != nil {
		return nil, err
	}
	bin := run.Binary()
	rec := env.NewRecord(call, bin.Path)
	decisions := ParseCompilerText(bin.CompilerOutput)
	out := magics.NewOutput(env.Publisher, name).Stdout()
	var results []*Result
	for _, v := range c.variants {
		r := &Result{Cell: call.Count, Label: v.label, Bench: v.bench(), Decisions: decisions, Binary: bin.Path,
			Sources: NewSources(call.Count, v.body.Source, v.body.Line, env.Decls)}
		if err := c.profile(ctx, run, r, out); err != nil {
			return nil, err
		}
		results = append(results, r)
		// The first variant showed the body's output; the others' would
		// only repeat or interleave it.
		out = io.Discard
	}
	run.Finish()
	bundle, err := c.render(results)
	if err != nil {
		return nil, scaleneError(err)
	}
	bundle["text/html"] = bundle["text/html"].(string) + envFooter(rec.Environment)
	if c.outfile != "" {
		if err := saveHTML(c.outfile, cell.File(call.Count)+" %scalene", bundle["text/html"].(string)); err != nil {
			return nil, scaleneError(err)
		}
		bundle["text/plain"] = bundle["text/plain"].(string) + "HTML page saved as " + c.outfile + "\n"
	}
	bundle[record.MIMEType] = addRecords(rec, results)
	env.Publisher.Display(bundle, nil, "")
	return nil, nil
}

// render lays out one result, or the variants side by side.
func (c *config) render(results []*Result) (protocol.Bundle, error) {
	opts := RenderOptions{Table: TableOptions{Reduced: c.reduced, Threshold: c.threshold}, FlameGraph: !c.noFlame, Asm: c.asm}
	if len(results) == 1 {
		return results[0].Render(opts)
	}
	return RenderComparison(results, opts)
}

// profile runs the binary for r's benchmark: a CPU run, then a memory
// run, as the options ask.
func (c *config) profile(ctx context.Context, run *profiles.Runner, r *Result, out io.Writer) error {
	kind := func(k string) string {
		if r.Label != "" {
			k = r.Label + "." + k
		}
		return k
	}
	if c.cpu {
		res, err := run.Run(ctx, r.Bench, kind("cpu"), []string{"-test.benchtime=" + c.profiles.Duration.String()}, out)
		if err != nil {
			return err
		}
		r.CPU, r.CPUSetUp, r.CPUPath = res.Profile, res.SetUp, res.Path
		r.CPUExecutions, r.NsPerOp = res.Executions, res.NsPerOp
		// The CPU run already showed the body's output.
		out = io.Discard
	}
	if c.mem {
		args := []string{fmt.Sprintf("-test.benchtime=%dx", memoryRuns), "-test.memprofilerate=1"}
		res, err := run.Run(ctx, r.Bench, kind("mem"), args, out)
		if err != nil {
			return err
		}
		r.Mem, r.MemSetUp, r.MemPath, r.Executions = res.Profile, res.SetUp, res.Path, memoryRuns
	}
	return nil
}

// saveHTML writes a page holding the output's HTML to path, atomically
// and refusing a target that is not a regular file (see atomicfile).
func saveHTML(path, title, body string) error {
	page := "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + template.HTMLEscapeString(title) +
		"</title></head><body>\n" + body + "\n</body></html>\n"
	if err := atomicfile.WriteFile(path, []byte(page), 0o644); err != nil {
		return fmt.Errorf("cannot save the HTML page: %w", err)
	}
	return nil
}
