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
// The profiles are saved where pprof saves the profiles it fetches:
// $PPROF_TMPDIR if set, else ~/pprof, as
// perfnb.cell5.cpu.20261121-130501.pb.gz and
// perfnb.cell5.mem.20261121-130501.pb.gz (--profile-dir DIR chooses
// another directory). They outlive the kernel, so the paths a saved
// notebook shows stay valid for go tool pprof.
package scalene

import (
	"context"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/kernel"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/native"
)

// benchName is the name of the generated benchmark: BenchmarkScalene.
const benchName = "Scalene"

// Defaults, as Scalene's where it has one.
const (
	defaultDuration  = time.Second
	defaultThreshold = 1.0 // --cpu-percent-threshold, percent
	defaultTimeout   = 10 * time.Minute
	memoryRuns       = 1 // executions of the body in the memory run
)

var optionSpec = magics.OptionSpec{
	Flags:  []string{"cpu-only", "memory-only", "reduced-profile", "no-flamegraph"},
	Values: []string{"cpu-percent-threshold", "duration", "outfile", "profile-dir", "timeout"},
}

// Magic is the scalene magic.
type Magic struct{}

// New returns the scalene magic.
func New() *Magic { return &Magic{} }

// Name returns "scalene".
func (*Magic) Name() string { return "scalene" }

// Doc describes the magic in one line.
func (*Magic) Doc() string {
	return "Line-level CPU and memory profile of natively compiled code, with pprof flame graphs " +
		"(--cpu-only --memory-only --reduced-profile --cpu-percent-threshold N --duration D " +
		"--outfile F --no-flamegraph --profile-dir DIR --timeout D; profiles are saved in $PPROF_TMPDIR or ~/pprof)"
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
	body       native.Snippet
}

func parse(call magics.Call) (*config, error) {
	opts, rest, err := magics.ParseOptions(call.Args, optionSpec)
	if err != nil {
		return nil, err
	}
	c := &config{
		cpu:     !opts.Has("memory-only"),
		mem:     !opts.Has("cpu-only"),
		reduced: opts.Has("reduced-profile"),
		flame:   !opts.Has("no-flamegraph"),
		outfile: opts.String("outfile", ""),
	}
	if !c.cpu && !c.mem {
		return nil, usage("--cpu-only and --memory-only exclude each other")
	}
	if c.threshold, err = opts.Float("cpu-percent-threshold", defaultThreshold); err != nil {
		return nil, err
	}
	if c.duration, err = opts.Duration("duration", defaultDuration); err != nil {
		return nil, err
	}
	if c.duration <= 0 {
		return nil, usage("--duration must be positive, for example --duration 2s")
	}
	if c.timeout, err = opts.Duration("timeout", defaultTimeout); err != nil {
		return nil, err
	}
	c.profileDir = opts.String("profile-dir", "")
	if call.Cell {
		if strings.TrimSpace(rest) != "" {
			return nil, usage("%%%%scalene takes options on its line and the code below it, not %q", strings.TrimSpace(rest))
		}
		c.body = native.Snippet{Source: call.Body, Cell: call.Count, Line: call.BodyLine}
	} else {
		// The statement follows the options on the magic line; its column
		// keeps compiler messages pointing at the right place.
		col := 1 + len("%"+call.Name+" ") + len(call.Args) - len(rest)
		c.body = native.Snippet{Source: rest, Cell: call.Count, Line: call.Line, Col: col}
	}
	if strings.TrimSpace(c.body.Source) == "" {
		return nil, usage("nothing to profile: write %%scalene [options] STATEMENT, or %%%%scalene [options] with code below")
	}
	return c, nil
}

func usage(format string, args ...any) *kernel.Error {
	return &kernel.Error{Name: "UsageError", Value: fmt.Sprintf(format, args...)}
}

// Run profiles the body and publishes the line table and flame graphs.
func (m *Magic) Run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	c, err := parse(call)
	if err != nil {
		return nil, err
	}
	ws, err := env.NativeWorkspace("scalene")
	if err != nil {
		return nil, err
	}
	dir, err := profileDir(c.profileDir)
	if err != nil {
		return nil, &kernel.Error{Name: "ScaleneError", Value: err.Error()}
	}
	prog := native.Program{Decls: env.Decls, Benchmarks: []native.Benchmark{{Name: benchName, Body: c.body}}}
	bin, err := ws.Build(ctx, prog)
	if err != nil {
		return nil, cellError(ctx, err)
	}
	out := magics.NewOutput(env.Publisher, "scalene").Stdout()
	res := &Result{Cell: call.Count, Sources: NewSources(call.Count, c.body.Source, c.body.Line, env.Decls)}
	name := profileName(call.Count, time.Now())
	if c.cpu {
		res.CPUPath = uniquePath(dir, name("cpu"))
		args := []string{"-test.run=^$", "-test.bench=^Benchmark" + benchName + "$",
			"-test.benchtime=" + c.duration.String(), "-test.cpuprofile=" + res.CPUPath}
		if _, err := ws.Run(ctx, bin, native.RunOptions{Args: args, Timeout: c.timeout, Output: out}); err != nil {
			return nil, cellError(ctx, err)
		}
		if res.CPU, err = readProfile(res.CPUPath); err != nil {
			return nil, &kernel.Error{Name: "ScaleneError", Value: err.Error()}
		}
	}
	if c.mem {
		res.MemPath = uniquePath(dir, name("mem"))
		res.Executions = memoryRuns
		args := []string{"-test.run=^$", "-test.bench=^Benchmark" + benchName + "$",
			fmt.Sprintf("-test.benchtime=%dx", memoryRuns),
			"-test.memprofile=" + res.MemPath, "-test.memprofilerate=1"}
		// The CPU run already showed the body's output.
		quiet := io.Discard
		if !c.cpu {
			quiet = out
		}
		if _, err := ws.Run(ctx, bin, native.RunOptions{Args: args, Timeout: c.timeout, Output: quiet}); err != nil {
			return nil, cellError(ctx, err)
		}
		if res.Mem, err = readProfile(res.MemPath); err != nil {
			return nil, &kernel.Error{Name: "ScaleneError", Value: err.Error()}
		}
	}
	bundle, err := res.Render(RenderOptions{
		Table:      TableOptions{Reduced: c.reduced, Threshold: c.threshold},
		FlameGraph: c.flame,
	})
	if err != nil {
		return nil, &kernel.Error{Name: "ScaleneError", Value: err.Error()}
	}
	if c.outfile != "" {
		page := "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
			html.EscapeString(fmt.Sprintf("In[%d] %%scalene", call.Count)) + "</title></head><body>\n" +
			bundle["text/html"].(string) + "\n</body></html>\n"
		if err := os.WriteFile(c.outfile, []byte(page), 0o644); err != nil {
			return nil, &kernel.Error{Name: "ScaleneError", Value: fmt.Sprintf("cannot save the HTML page: %v", err)}
		}
		bundle["text/plain"] = bundle["text/plain"].(string) + "HTML page saved as " + c.outfile + "\n"
	}
	env.Publisher.Display(bundle, nil, "")
	return nil, nil
}

// ProfileDirEnv is the environment variable that names the directory of
// saved profiles: pprof's own, where it saves the profiles it fetches.
const ProfileDirEnv = "PPROF_TMPDIR"

// profileDir returns the directory where the profiles are saved, created
// if need be: flag (--profile-dir) when given, else $PPROF_TMPDIR, else
// ~/pprof, as pprof does. Unlike the kernel's workspace, these outlive
// the kernel, so the paths printed in a saved notebook stay valid.
func profileDir(flag string) (string, error) {
	dir := flag
	if dir == "" {
		dir = os.Getenv(ProfileDirEnv)
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find a directory for the profiles (%w); set %s or use --profile-dir", err, ProfileDirEnv)
		}
		dir = filepath.Join(home, "pprof")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create the profile directory: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("cannot resolve the profile directory %s: %w", dir, err)
	}
	return abs, nil
}

// profileName returns the file names of one run's profiles, in the
// style of pprof's: perfnb.cell5.cpu.20261121-130501.pb.gz for the CPU
// profile of In[5] taken at that time (local time). The names avoid
// characters shells treat specially, so they can be pasted into a
// command.
func profileName(cell int, at time.Time) func(kind string) string {
	stamp := at.Format("20060102-150405")
	return func(kind string) string {
		return fmt.Sprintf("perfnb.cell%d.%s.%s.pb.gz", cell, kind, stamp)
	}
}

// uniquePath returns dir/name, or, when that file exists (the same cell
// profiled twice in one second), dir/name with a counter before .pb.gz.
func uniquePath(dir, name string) string {
	p := filepath.Join(dir, name)
	base := strings.TrimSuffix(name, ".pb.gz")
	for i := 2; ; i++ {
		if _, err := os.Lstat(p); err != nil {
			return p // free, or unreadable: writing it will tell
		}
		p = filepath.Join(dir, fmt.Sprintf("%s.%03d.pb.gz", base, i))
	}
}

func readProfile(path string) (*profile.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("the child wrote no profile: %w", err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read the profile %s: %w", path, err)
	}
	return p, nil
}

// cellError turns a failed build or run into the cell's error, named as
// every magic names them (see magics.NativeError).
func cellError(ctx context.Context, err error) *kernel.Error {
	return magics.NativeError(ctx, err, magics.NativeErrorOptions{Magic: "scalene"})
}
