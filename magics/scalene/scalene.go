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
// output is read with the lines it names (ParseCompilerText).
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
	"cmp"
	"context"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/internal/atomicfile"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/profiles"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/native"
)

// benchName is the name of the generated benchmark: BenchmarkScalene,
// and BenchmarkScalene_LABEL for a variant.
const benchName = "Scalene"

// Defaults, as Scalene's where it has one.
const (
	defaultDuration  = time.Second
	defaultThreshold = 1.0 // --cpu-percent-threshold, percent
	defaultTimeout   = 10 * time.Minute
	defaultAsmLines  = 5 // --asm-lines
	memoryRuns       = 1 // executions of the body in the memory run
)

var optionSpec = magics.OptionSpec{
	Flags:  []string{"cpu-only", "memory-only", "reduced-profile", "no-flamegraph", "asm"},
	Values: []string{"cpu-percent-threshold", "duration", "outfile", "profile-dir", "timeout", "asm-lines"},
}

// Magic is the scalene magic.
type Magic struct{}

// New returns the scalene magic.
func New() *Magic { return &Magic{} }

// Name returns "scalene".
func (*Magic) Name() string { return "scalene" }

// Doc describes the magic in one line.
func (*Magic) Doc() string {
	return "Line-level CPU and memory profile of natively compiled code (self and total per line, the compiler's " +
		"inlining, escape and bounds-check decisions), with pprof flame graphs; labelled lines compare variants " +
		"(--cpu-only --memory-only --reduced-profile --cpu-percent-threshold N --duration D --asm --asm-lines N " +
		"--outfile F --no-flamegraph --profile-dir DIR --timeout D; profiles are saved in $PPROF_TMPDIR or ~/pprof)"
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
	cpu, mem   bool
	reduced    bool
	threshold  float64
	duration   time.Duration
	timeout    time.Duration
	outfile    string
	profileDir string
	flame      bool
	asm        int // hottest lines to disassemble; 0 for none
	variants   []variant
}

func parse(call magics.Call) (*config, error) {
	opts, rest, err := magics.ParseOptions(call.Args, optionSpec)
	if err != nil {
		return nil, err
	}
	c := &config{
		cpu:        !opts.Has("memory-only"),
		mem:        !opts.Has("cpu-only"),
		reduced:    opts.Has("reduced-profile"),
		flame:      !opts.Has("no-flamegraph"),
		outfile:    opts.String("outfile", ""),
		profileDir: opts.String("profile-dir", ""),
	}
	if err := c.parseNumbers(opts); err != nil {
		return nil, err
	}
	switch {
	case !c.cpu && !c.mem:
		return nil, magics.UsageError("--cpu-only and --memory-only exclude each other")
	case c.asm > 0 && !c.cpu:
		return nil, magics.UsageError("--asm shows the instructions of the hottest lines in CPU time: it needs the CPU profile, not --memory-only")
	}
	return c, c.parseBody(call, rest)
}

// parseNumbers reads the options with numbers and durations.
func (c *config) parseNumbers(opts magics.Options) error {
	var err error
	if c.threshold, err = opts.Float("cpu-percent-threshold", defaultThreshold); err != nil {
		return err
	}
	if c.duration, err = opts.Duration("duration", defaultDuration); err != nil {
		return err
	}
	if c.duration <= 0 {
		return magics.UsageError("--duration must be positive, for example --duration 2s")
	}
	if c.timeout, err = opts.Duration("timeout", defaultTimeout); err != nil {
		return err
	}
	lines, err := opts.Int("asm-lines", defaultAsmLines)
	if err != nil {
		return err
	}
	if lines < 1 {
		return magics.UsageError("--asm-lines needs a number of lines of at least 1, not %d", lines)
	}
	if opts.Has("asm") || opts.Has("asm-lines") {
		c.asm = lines
	}
	return nil
}

// parseBody reads the statement of %scalene or the body of %%scalene,
// with its labelled variants.
func (c *config) parseBody(call magics.Call, rest string) error {
	if !call.Cell {
		// The statement follows the options on the magic line; its column
		// keeps compiler messages pointing at the right place.
		// (ArgsCol is 0 only for a call made by hand, as in tests.)
		col := cmp.Or(call.ArgsCol, 1+len("%"+call.Name+" ")) + len(call.Args) - len(rest)
		c.variants = []variant{{body: native.Snippet{Source: rest, Cell: call.Count, Line: call.Line, Col: col}}}
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
			c.variants = []variant{{body: native.Snippet{Source: call.Body, Cell: call.Count, Line: call.BodyLine}}}
		}
	}
	if strings.TrimSpace(c.variants[0].body.Source) == "" {
		return magics.UsageError("nothing to profile: write %%scalene [options] STATEMENT, or %%%%scalene [options] with code below")
	}
	return nil
}

func scaleneError(err error) *protocol.Error {
	return protocol.NewError(magics.ErrorKind("scalene"), err.Error())
}

// Run profiles the body (each variant of it) and publishes the line
// table and flame graphs.
func (m *Magic) Run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	c, err := parse(call)
	if err != nil {
		return nil, err
	}
	ws, err := env.NativeWorkspace("scalene")
	if err != nil {
		return nil, err
	}
	dir, err := profiles.Dir(c.profileDir)
	if err != nil {
		return nil, scaleneError(err)
	}
	prog := native.Program{Decls: env.Decls, GCFlags: CompilerFlags, Symbols: c.asm > 0}
	for _, v := range c.variants {
		prog.Benchmarks = append(prog.Benchmarks, native.Benchmark{Name: v.bench(), Body: v.body})
	}
	bin, err := ws.Build(ctx, prog)
	if err != nil {
		return nil, cellError(ctx, err)
	}
	rec := env.NewRecord(call, bin.Path)
	decisions := ParseCompilerText(bin.CompilerOutput)
	out := magics.NewOutput(env.Publisher, "scalene").Stdout()
	name := profiles.Namer(call.Count, time.Now())
	var results []*Result
	for _, v := range c.variants {
		r := &Result{Cell: call.Count, Label: v.label, Bench: v.bench(), Decisions: decisions, Binary: bin.Path,
			Sources: NewSources(call.Count, v.body.Source, v.body.Line, env.Decls)}
		if err := c.profile(ctx, ws, bin, r, dir, name, out); err != nil {
			return nil, err
		}
		results = append(results, r)
		// The first variant showed the body's output; the others' would
		// only repeat or interleave it.
		out = io.Discard
	}
	if keep, err := profiles.Keep(); err == nil {
		profiles.Prune(dir, max(keep, 2*len(results))) // never this run's own
	}
	bundle, err := c.render(results)
	if err != nil {
		return nil, scaleneError(err)
	}
	bundle["text/html"] = bundle["text/html"].(string) + envFooter(rec.Environment)
	if c.outfile != "" {
		if err := saveHTML(c.outfile, fmt.Sprintf("In[%d] %%scalene", call.Count), bundle["text/html"].(string)); err != nil {
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
	opts := RenderOptions{Table: TableOptions{Reduced: c.reduced, Threshold: c.threshold}, FlameGraph: c.flame, Asm: c.asm}
	if len(results) == 1 {
		return results[0].Render(opts)
	}
	return RenderComparison(results, opts)
}

// profile runs the binary for r's benchmark: a CPU run, then a memory
// run, as the options ask, each writing its profile into dir.
func (c *config) profile(ctx context.Context, ws *native.Workspace, bin *native.Binary, r *Result, dir string, name func(string) string, out io.Writer) error {
	kind := func(k string) string {
		if r.Label != "" {
			k = r.Label + "." + k
		}
		return profiles.UniquePath(dir, name(k))
	}
	run := func(path string, extra []string, w io.Writer) (*profile.Profile, BenchResult, error) {
		return RunProfiled(ctx, ws, bin, ProfiledRun{Bench: r.Bench, Path: path, Args: extra, Timeout: c.timeout, Output: w, Magic: "scalene"})
	}
	var err error
	if c.cpu {
		r.CPUPath = kind("cpu")
		var res BenchResult
		if r.CPU, res, err = run(r.CPUPath, []string{"-test.benchtime=" + c.duration.String(), "-test.cpuprofile=" + r.CPUPath}, out); err != nil {
			return err
		}
		r.CPUExecutions, r.NsPerOp = res.N, res.NsPerOp
	}
	if c.mem {
		r.MemPath = kind("mem")
		r.Executions = memoryRuns
		// The CPU run already showed the body's output.
		if c.cpu {
			out = io.Discard
		}
		args := []string{fmt.Sprintf("-test.benchtime=%dx", memoryRuns), "-test.memprofile=" + r.MemPath, "-test.memprofilerate=1"}
		if r.Mem, _, err = run(r.MemPath, args, out); err != nil {
			return err
		}
	}
	return nil
}

// ProfiledRun is one run of a benchmark that writes a profile.
type ProfiledRun struct {
	Bench   string   // the benchmark's name without "Benchmark"
	Path    string   // where the child writes the profile
	Args    []string // test flags: the profile's, -test.benchtime
	Timeout time.Duration
	Output  io.Writer // the body's output
	Magic   string    // the magic's name, for its errors
}

// RunProfiled runs one benchmark of bin and reads the profile it wrote.
// A body that ends the process before the benchmark finished (os.Exit(0)
// succeeds, but leaves no result line and an empty profile) is the
// cell's error, as is any failure of the child.
func RunProfiled(ctx context.Context, ws *native.Workspace, bin *native.Binary, pr ProfiledRun) (*profile.Profile, BenchResult, error) {
	args := append([]string{"-test.run=^$", "-test.bench=^Benchmark" + pr.Bench + "$"}, pr.Args...)
	rr, err := ws.Run(ctx, bin, native.RunOptions{Args: args, Timeout: pr.Timeout, Output: pr.Output})
	if err != nil {
		return nil, BenchResult{}, magics.NativeError(ctx, err, magics.NativeErrorOptions{Magic: pr.Magic})
	}
	res, ok := parseBench(rr.Bench, pr.Bench)
	if !ok {
		return nil, res, magics.NativeError(ctx, &native.Error{Kind: native.Exited,
			Summary: "the cell's process ended before the benchmark finished, with status 0 (os.Exit(0) or runtime.Goexit in the cell?): there is no profile"},
			magics.NativeErrorOptions{Magic: pr.Magic})
	}
	p, err := profiles.Read(pr.Path)
	if err != nil {
		return nil, res, protocol.NewError(magics.ErrorKind(pr.Magic), err.Error())
	}
	return p, res, nil
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

// cellError turns a failed build or run into the cell's error, named as
// every magic names them (see magics.NativeError).
func cellError(ctx context.Context, err error) *protocol.Error {
	return magics.NativeError(ctx, err, magics.NativeErrorOptions{Magic: "scalene"})
}
