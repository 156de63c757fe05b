package profiles

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/native"
)

// The defaults of Options.
const (
	DefaultDuration = time.Second
	DefaultTimeout  = 10 * time.Minute
)

// Options are the options the profiling magics (%scalene, %prun) share,
// declared once by Declare.
type Options struct {
	Duration time.Duration // how long the CPU run repeats the body
	Timeout  time.Duration // the child's time limit
	Dir      string        // --profile-dir; "" for Dir's default
}

// Declare declares the options in s, bound to o.
func (o *Options) Declare(s *magics.OptionSet) {
	s.Duration(&o.Duration, "duration", DefaultDuration,
		"repeat the body for `D` in the CPU run, so that a short body gets enough samples").Positive()
	s.Duration(&o.Timeout, "timeout", DefaultTimeout, "stop the child after `D`").Positive()
	s.String(&o.Dir, "profile-dir", "", "save the profiles in `DIR`").Default("$" + DirEnv + ", else ~/pprof")
}

// Runner runs one call of a profiling magic: the binary built for it,
// run once per profile, each profile saved in the profile directory.
type Runner struct {
	magic string
	ws    *native.Workspace
	bin   *native.Binary
	opts  Options
	dir   string
	name  func(kind string) string
	saved int
}

// Start builds prog for the magic named magic and finds the directory of
// its profiles. Its errors are the cell's, named as every magic names
// them (magics.NativeError).
func Start(ctx context.Context, magic string, call magics.Call, env magics.Env, opts Options, prog native.Program) (*Runner, error) {
	ws, err := env.NativeWorkspace(magic)
	if err != nil {
		return nil, err
	}
	dir, err := Dir(opts.Dir)
	if err != nil {
		return nil, protocol.NewError(magics.ErrorKind(magic), err.Error())
	}
	bin, err := ws.Build(ctx, prog)
	if err != nil {
		return nil, magics.NativeError(ctx, err, magics.NativeErrorOptions{Magic: magic})
	}
	return &Runner{magic: magic, ws: ws, bin: bin, opts: opts, dir: dir, name: Namer(call.Count, time.Now())}, nil
}

// Binary is the built test binary.
func (r *Runner) Binary() *native.Binary { return r.bin }

// Profiled is one profiled run of a benchmark.
type Profiled struct {
	// Profile is the cell's work (Split): perfnb's set-up is in SetUp.
	Profile *profile.Profile
	SetUp   *profile.Profile
	// Path is where the cell's profile is saved.
	Path string
	// Executions is the body's executions (the benchmark's N), NsPerOp
	// their average time (0 when the line has none).
	Executions int64
	NsPerOp    float64
}

// Run runs the benchmark bench (without "Benchmark") with args, the test
// flags that ask for the profile (-test.cpuprofile=PATH is added for
// kind "cpu"), and reads the profile: inlined frames restored
// (RestoreInlined), perfnb's set-up split off (Split). The cell's profile
// replaces the child's in the directory, named after kind ("cpu",
// "fast.mem"). A body that ends the process before the benchmark
// finished (os.Exit(0) succeeds, but leaves no result line and an empty
// profile) is the cell's error, as is any failure of the child.
func (r *Runner) Run(ctx context.Context, bench, kind string, args []string, out io.Writer) (*Profiled, error) {
	path := UniquePath(r.dir, r.name(kind))
	args = append([]string{"-test.run=^$", "-test.bench=^Benchmark" + bench + "$"}, args...)
	args = append(args, "-test."+profileFlag(kind)+"="+path)
	rr, err := r.ws.Run(ctx, r.bin, native.RunOptions{Args: args, Timeout: r.opts.Timeout, Output: out})
	if err != nil {
		return nil, magics.NativeError(ctx, err, magics.NativeErrorOptions{Magic: r.magic})
	}
	runs, _ := magics.ReadBench(rr.Bench)
	runs = magics.BenchRuns(runs, bench)
	if len(runs) == 0 {
		return nil, magics.NativeError(ctx, &native.Error{Kind: native.Exited,
			Summary: "the cell's process ended before the benchmark finished, with status 0 (os.Exit(0) or runtime.Goexit in the cell?): there is no profile"},
			magics.NativeErrorOptions{Magic: r.magic})
	}
	p, err := r.read(path)
	if err != nil {
		return nil, protocol.NewError(magics.ErrorKind(r.magic), err.Error())
	}
	last := runs[len(runs)-1]
	res := &Profiled{Path: path, Executions: int64(last.Iters)}
	res.NsPerOp, _ = last.Value("ns/op")
	res.Profile, res.SetUp = Split(p)
	if err := write(path, res.Profile); err != nil {
		return nil, protocol.NewError(magics.ErrorKind(r.magic), err.Error())
	}
	r.saved++
	return res, nil
}

// profileFlag is the test flag that writes a profile of kind: cpuprofile
// for "cpu" and "LABEL.cpu", memprofile otherwise.
func profileFlag(kind string) string {
	if kind == "cpu" || strings.HasSuffix(kind, ".cpu") {
		return "cpuprofile"
	}
	return "memprofile"
}

// read reads the profile at path and restores its inlined frames from
// the binary's line table (where the binary has none, the profile stays
// as the runtime wrote it).
func (r *Runner) read(path string) (*profile.Profile, error) {
	p, err := Read(path)
	if err != nil {
		return nil, err
	}
	_, _ = RestoreInlined(p, r.bin.Path)
	return p, nil
}

// write replaces the profile at path with p, gzipped as pprof writes it.
func write(path string, p *profile.Profile) error {
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		return fmt.Errorf("saving the profile: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("saving the profile: %w", err)
	}
	return nil
}

// Finish prunes the profile directory to Keep() profiles, never fewer
// than this call saved.
func (r *Runner) Finish() {
	if keep, err := Keep(); err == nil {
		Prune(r.dir, max(keep, r.saved))
	}
}
