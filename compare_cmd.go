package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/perfnb/perfnb/compare"
	"github.com/perfnb/perfnb/internal/atomicfile"
	"github.com/perfnb/perfnb/internal/nbformat"
	"github.com/perfnb/perfnb/kernel/supervisor"
	"github.com/perfnb/perfnb/runner"
	"github.com/perfnb/perfnb/runtime/session"
)

// Exit statuses of perfnb compare, for CI scripts (docs/compare.md).
const (
	exitRegression   = 1 // a figure is significantly worse beyond the threshold
	exitBadInput     = 2 // bad arguments or notebooks: nothing was compared
	exitInconclusive = 3 // no regression, but some timings could not be compared
)

// compareFlags are perfnb compare's options.
type compareFlags struct {
	opts     compare.Options
	format   string
	benchOut string
	run      bool
	rounds   int
	timeout  time.Duration
	params   parameterSets
	paths    []string
}

const compareUsage = "usage: perfnb compare OLD.ipynb NEW.ipynb [--threshold P%] [--alpha A] [--format text|bench] [-o BENCH.txt]\n" +
	"   or: perfnb compare --run OLD.ipynb [NEW.ipynb] [--rounds N] [-p|--old-p|--new-p NAME VALUE ...] [--timeout S] [options]"

// parseCompare reads perfnb compare's arguments.
func parseCompare(args []string, stderr io.Writer) (*compareFlags, error) {
	args, params, err := parameterArgs(args)
	if err != nil {
		return nil, badInput{err}
	}
	fs := flag.NewFlagSet("perfnb compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, compareUsage)
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "  -p NAME VALUE, --old-p NAME VALUE, --new-p NAME VALUE\n    \twith --run, a parameter for both notebooks, the old one or the new one (papermill's -p)\n"+
			"Exit status: 0 no regression, 1 regression, 2 bad input, 3 timings inconclusive (docs/compare.md).")
	}
	threshold := fs.String("threshold", fmt.Sprintf("%g%%", 100*compare.DefaultThreshold), "report a regression only when a figure is worse by more than `P%`")
	alpha := fs.Float64("alpha", 0, fmt.Sprintf("significance level `A` of the tests (default %g, or %g with --run)", compare.DefaultAlpha, compare.DefaultRunAlpha))
	c := &compareFlags{params: params}
	fs.StringVar(&c.format, "format", "text", "text (a benchstat-style table, and the gate) or bench (Go benchmark text for benchstat)")
	fs.StringVar(&c.benchOut, "o", "", "also write the figures as Go benchmark text to `FILE`, for benchstat -col notebook")
	fs.BoolVar(&c.run, "run", false, "run both notebooks now, their measured cells interleaved round by round")
	fs.IntVar(&c.rounds, "rounds", compare.DefaultRounds, "with --run, run at most `N` interleaved rounds")
	timeout := fs.Float64("timeout", 0, "with --run, stop a cell after `S` seconds (0: no limit)")
	paths, ok := parseInterspersed(fs, args)
	if !ok {
		return nil, exitCode(exitBadInput)
	}
	c.paths, c.timeout = paths, time.Duration(*timeout*float64(time.Second))
	if !isSet(fs, "alpha") {
		*alpha = compare.DefaultAlpha
		if c.run {
			*alpha = compare.DefaultRunAlpha
		}
	}
	c.opts = compare.Options{Alpha: *alpha}
	if c.opts.Threshold, err = parsePercent(*threshold); err != nil {
		return nil, badInput{err}
	}
	return c, c.check(*alpha)
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// check refuses options that do not go together.
func (c *compareFlags) check(alpha float64) error {
	sets := len(c.params.both) + len(c.params.old) + len(c.params.new)
	switch {
	case alpha <= 0 || alpha >= 1:
		return badInput{fmt.Errorf("--alpha needs a level between 0 and 1, such as 0.05, not %g", alpha)}
	case c.format != "text" && c.format != "bench":
		return badInput{fmt.Errorf("--format is text or bench, not %q", c.format)}
	case c.run && (len(c.paths) < 1 || len(c.paths) > 2):
		return badInput{errors.New(compareUsage)}
	case c.run && len(c.paths) == 1 && len(c.params.old)+len(c.params.new) == 0:
		return badInput{errors.New("perfnb compare --run with one notebook compares it under two sets of parameters: give --old-p NAME VALUE or --new-p NAME VALUE")}
	case c.run && c.rounds < 1:
		return badInput{fmt.Errorf("--rounds needs at least 1, not %d", c.rounds)}
	case !c.run && sets > 0:
		return badInput{errors.New("-p, --old-p and --new-p are for perfnb compare --run, which runs the notebooks")}
	case !c.run && c.format == "text" && len(c.paths) != 2, !c.run && c.format == "bench" && len(c.paths) == 0:
		return badInput{errors.New(compareUsage)}
	}
	return nil
}

// runCompare compares the results of two notebooks, saved or (with
// --run) measured now; with --format bench it writes the results of one
// or more notebooks as benchmark text.
func runCompare(args []string, stdout, stderr io.Writer) error {
	c, err := parseCompare(args, stderr)
	if err != nil {
		return err
	}
	if c.run {
		return compareRun(c, stdout, stderr)
	}
	var nbs []*compare.NotebookResults
	for _, p := range c.paths {
		nr, err := compare.Read(p)
		if err != nil {
			return badInput{err}
		}
		nbs = append(nbs, nr)
	}
	if c.format == "bench" {
		return compare.WriteBench(stdout, nbs...)
	}
	if c.benchOut != "" {
		if err := writeBenchFile(c.benchOut, nbs...); err != nil {
			return err
		}
	}
	rep := compare.Compare(nbs[0].Entries, nbs[1].Entries, c.opts)
	return gate(rep, c, stdout)
}

// gate writes the report and returns the exit status it calls for.
func gate(rep *compare.Report, c *compareFlags, stdout io.Writer) error {
	old, new := c.paths[0], c.paths[len(c.paths)-1]
	if len(c.paths) == 1 {
		old, new = "old", "new"
	}
	switch {
	case rep.Matched == 0:
		return badInput{fmt.Errorf("no result of %s matches one of %s: are they runs of the same notebook?", old, new)}
	case len(rep.Rows) == 0:
		return badInput{fmt.Errorf("the results of %s and %s match but have no figure in common (was %%timeit -c used in one only?)", old, new)}
	}
	if err := rep.WriteText(stdout, old, new, c.opts); err != nil {
		return err
	}
	switch {
	case len(rep.Regressions()) > 0:
		return exitCode(exitRegression)
	case len(rep.Inconclusive()) > 0:
		return exitCode(exitInconclusive)
	}
	return nil
}

// writeBenchFile writes the notebooks' figures as Go benchmark text to
// path.
func writeBenchFile(path string, nbs ...*compare.NotebookResults) error {
	var b bytes.Buffer
	if err := compare.WriteBench(&b, nbs...); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the benchmark text: %w", err)
	}
	return nil
}

// parsePercent reads a threshold: "10%", "10" (also a percentage) or
// "0.5%".
func parsePercent(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("--threshold needs a percentage such as 10%%, not %q", s)
	}
	return f / 100, nil
}

// compareRun runs the two sides in two workers, each once in full and
// then their measured cells interleaved, and gates the result.
func compareRun(c *compareFlags, stdout, stderr io.Writer) error {
	ctx, stop := signalContext()
	defer stop()
	oldPath, newPath := c.paths[0], c.paths[len(c.paths)-1]
	sides := [2]*runner.Execution{}
	for i, side := range []struct {
		path   string
		params []runner.Parameter
	}{{oldPath, slices.Concat(c.params.both, c.params.old)}, {newPath, slices.Concat(c.params.both, c.params.new)}} {
		x, err := startSide(ctx, side.path, side.params, c.timeout, stderr)
		if err != nil {
			return signaled(ctx, err)
		}
		defer x.interp.Shutdown(false)
		sides[i] = x.Execution
	}
	rep, merged, err := compare.Interleave(ctx, sides[0], sides[1], compare.RunOptions{Options: c.opts, MaxRounds: c.rounds,
		Progress: stderr, OldName: oldPath, NewName: newPath})
	if err != nil {
		return signaled(ctx, inputOr(err))
	}
	results := [2]*compare.NotebookResults{{Path: oldPath + " (old)"}, {Path: newPath + " (new)"}}
	for i := range results {
		for _, rec := range merged[i] {
			results[i].Entries = append(results[i].Entries, compare.Entry{Record: rec})
		}
	}
	if c.format == "bench" {
		return compare.WriteBench(stdout, results[:]...)
	}
	if c.benchOut != "" {
		if err := writeBenchFile(c.benchOut, results[:]...); err != nil {
			return err
		}
	}
	return gate(rep, c, stdout)
}

// side is a notebook executing in a worker of its own.
type side struct {
	*runner.Execution
	interp *supervisor.Supervisor
}

// startSide starts a worker in the notebook's folder and runs the
// notebook once, in full.
func startSide(ctx context.Context, path string, params []runner.Parameter, timeout time.Duration, stderr io.Writer) (*side, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, badInput{err}
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding perfnb's executable to start a worker: %w", err)
	}
	interp, err := supervisor.New(supervisor.Options{Info: session.KernelInfo(version), Command: func() *exec.Cmd {
		cmd := exec.Command(exe, "worker")
		cmd.Dir = filepath.Dir(abs)
		return cmd
	}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "running %s once in full\n", path)
	x, err := runner.Start(interp, runner.Options{Path: abs, Timeout: timeout, Parameters: params})
	if err == nil {
		err = x.RunAll(ctx)
	}
	if err != nil {
		interp.Shutdown(false)
		return nil, inputOr(fmt.Errorf("%s: %w", path, err))
	}
	return &side{Execution: x, interp: interp}, nil
}

// inputOr marks as bad input the errors that are: a notebook that cannot
// be read or compared, a bad parameter, a failing cell (of a notebook
// that a gate cannot measure).
func inputOr(err error) error {
	var ie *compare.InputError
	var pe *runner.ParameterError
	var ce *runner.CellError
	var re *nbformat.ReadError
	if errors.As(err, &ie) || errors.As(err, &pe) || errors.As(err, &ce) || errors.As(err, &re) {
		return badInput{err}
	}
	return err
}
