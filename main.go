// Command perfnb is a Jupyter kernel for Go built for performance
// experiments: cells are interpreted with yaegi, and the %timeit, %memit
// and %scalene magics compile them natively and measure them in a child
// process.
//
// Usage:
//
//	perfnb kernel CONNECTION_FILE
//	perfnb install [--user | --sys-prefix | --prefix DIR] [--name NAME] [--display-name NAME]
//	perfnb uninstall [--user | --sys-prefix | --prefix DIR] [--name NAME]
//	perfnb run NOTEBOOK.ipynb [-o OUT.ipynb] [--allow-errors] [--timeout S] [-p NAME VALUE ...]
//	perfnb compare OLD.ipynb NEW.ipynb [--threshold P%] [--alpha A] [--format text|bench] [-o BENCH.txt]
//	perfnb version
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/perfnb/perfnb/compare"
	"github.com/perfnb/perfnb/install"
	"github.com/perfnb/perfnb/kernel"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/gomod"
	"github.com/perfnb/perfnb/magics/memit"
	"github.com/perfnb/perfnb/magics/prun"
	"github.com/perfnb/perfnb/magics/scalene"
	"github.com/perfnb/perfnb/magics/timeit"
	"github.com/perfnb/perfnb/runner"
	"github.com/perfnb/perfnb/runtime/modules"
	"github.com/perfnb/perfnb/runtime/session"
	"github.com/perfnb/perfnb/runtime/supervisor"
)

// version is perfnb's version.
const version = "0.1.0"

const usage = `perfnb: a Jupyter kernel for Go performance experiments

Usage:
  perfnb kernel CONNECTION_FILE      serve a Jupyter client (started by Jupyter)
  perfnb install [options]           install the kernelspec (--user, --sys-prefix,
                                     --prefix DIR, --name NAME, --display-name NAME)
  perfnb uninstall [options]         remove the kernelspec
  perfnb run NOTEBOOK [options]      execute a notebook without Jupyter
                                     (-o OUT.ipynb, --allow-errors, --timeout S,
                                     -p NAME VALUE to set a parameter)
  perfnb compare OLD NEW [options]   compare the results of two runs of a notebook
                                     (--threshold P%, --alpha A, --format text|bench,
                                     -o BENCH.txt);
                                     exit 1 on a regression, 2 on bad input
  perfnb version                     print the version
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var exit exitCode
		if errors.As(err, &exit) {
			// The command has said why already.
			os.Exit(int(exit))
		}
		fmt.Fprintln(os.Stderr, "perfnb:", err)
		if errors.As(err, new(badInput)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// exitCode is an error that asks for a particular exit status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// newSession returns the session of a notebook in the current directory
// (Jupyter starts a kernel in the notebook's folder; perfnb run changes
// to it): its packages and modules are those of that folder.
func newSession() *session.Session {
	mods, err := modules.Open(context.Background(), modules.Options{})
	return session.New(session.Options{
		Version: version,
		Magics:  magics.NewRegistry(timeit.New(), timeit.NewTime(), memit.New(), scalene.New(), prun.New(), gomod.New(mods, err)),
		Modules: mods,
	})
}

// newInterpreter starts the interpreter process (perfnb worker) under a
// supervisor; the worker's standard error (Go's crash reports) goes to
// log.
func newInterpreter(log io.Writer) (*supervisor.Supervisor, error) {
	return supervisor.New(supervisor.Options{Info: session.KernelInfo(version), Log: log})
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitCode(2)
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "kernel":
		if len(args) != 1 {
			return fmt.Errorf("usage: perfnb kernel CONNECTION_FILE")
		}
		logger := slog.New(slog.NewTextHandler(stderr, nil))
		interp, err := newInterpreter(stderr)
		if err != nil {
			return err
		}
		return kernel.Run(context.Background(), args[0], interp, logger)
	case "worker":
		// Hidden: the interpreter process a supervisor starts.
		return supervisor.ServeProcess(newSession())
	case "install", "uninstall":
		return runInstall(cmd, args, stdout)
	case "run":
		return runNotebook(args, stdout)
	case "compare":
		return runCompare(args, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "perfnb", version)
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func runInstall(cmd string, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("perfnb "+cmd, flag.ContinueOnError)
	var opts install.Options
	fs.BoolVar(&opts.User, "user", false, "install for the current user (the default)")
	fs.BoolVar(&opts.SysPrefix, "sys-prefix", false, "install into the prefix of the Python that runs Jupyter")
	fs.StringVar(&opts.Prefix, "prefix", "", "install into `DIR`/share/jupyter/kernels")
	fs.StringVar(&opts.Name, "name", "perfnb", "the kernelspec's `name`")
	fs.StringVar(&opts.DisplayName, "display-name", "Go (perfnb)", "the `name` Jupyter shows")
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	if cmd == "uninstall" {
		dir, err := install.Uninstall(opts)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Removed", dir)
		return nil
	}
	dir, err := install.Install(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Installed kernelspec %s in %s\n", opts.Name, dir)
	return nil
}

func runNotebook(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("perfnb run", flag.ContinueOnError)
	var opts runner.Options
	args, params, err := parameterArgs(args)
	if err != nil {
		return badInput{err}
	}
	opts.Parameters = params
	fs.StringVar(&opts.Output, "o", "", "write the executed notebook to `FILE` instead of the input")
	fs.BoolVar(&opts.AllowErrors, "allow-errors", false, "go on after a cell fails")
	timeout := fs.Float64("timeout", 0, "stop a cell after `S` seconds (0: no limit)")
	paths, ok := parseInterspersed(fs, args)
	if !ok {
		return exitCode(2)
	}
	if len(paths) != 1 {
		return fmt.Errorf("usage: perfnb run NOTEBOOK.ipynb [-o OUT.ipynb] [--allow-errors] [--timeout S] [-p NAME VALUE ...]")
	}
	if err := enterFolder(&opts, paths[0]); err != nil {
		return err
	}
	opts.Timeout = time.Duration(*timeout * float64(time.Second))
	opts.Progress = stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	interp, err := newInterpreter(nil)
	if err != nil {
		return err
	}
	defer interp.Shutdown(false)
	err = runner.Run(ctx, interp, opts)
	var perr *runner.ParameterError
	if errors.As(err, &perr) {
		return badInput{err}
	}
	return err
}

// parameterArgs takes the -p NAME VALUE (or --parameters NAME VALUE)
// triples out of args, which the flag package cannot parse.
func parameterArgs(args []string) (rest []string, params []runner.Parameter, err error) {
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-p", "--p", "-parameters", "--parameters":
			if i+2 >= len(args) {
				return nil, nil, fmt.Errorf("%s needs a name and a value: -p NAME VALUE", args[i])
			}
			params = append(params, runner.Parameter{Name: args[i+1], Value: args[i+2]})
			i += 2
		case "--":
			return append(rest, args[i:]...), params, nil
		default:
			rest = append(rest, args[i])
		}
	}
	return rest, params, nil
}

// badInput is an error in what the user gave (arguments, files); perfnb
// exits with status 2 for it.
type badInput struct{ err error }

func (e badInput) Error() string { return e.err.Error() }
func (e badInput) Unwrap() error { return e.err }

// runCompare compares the results of two notebooks; with --format bench
// it writes the results of one or more notebooks as benchmark text.
func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("perfnb compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	threshold := fs.String("threshold", fmt.Sprintf("%g%%", 100*compare.DefaultThreshold), "report a regression only when a figure is worse by more than `P%`")
	alpha := fs.Float64("alpha", compare.DefaultAlpha, "significance level `A` of the Mann-Whitney U test")
	format := fs.String("format", "text", "text (a benchstat-style table, and the gate) or bench (Go benchmark text for benchstat)")
	benchOut := fs.String("o", "", "also write the figures as Go benchmark text to `FILE`, for benchstat -col notebook")
	paths, ok := parseInterspersed(fs, args)
	if !ok {
		return exitCode(2)
	}
	opts := compare.Options{Alpha: *alpha}
	var err error
	if opts.Threshold, err = parsePercent(*threshold); err != nil {
		return badInput{err}
	}
	if *alpha <= 0 || *alpha >= 1 {
		return badInput{fmt.Errorf("--alpha needs a level between 0 and 1, such as 0.05, not %g", *alpha)}
	}
	switch {
	case *format != "text" && *format != "bench":
		return badInput{fmt.Errorf("--format is text or bench, not %q", *format)}
	case *format == "text" && len(paths) != 2, *format == "bench" && len(paths) == 0:
		return badInput{fmt.Errorf("usage: perfnb compare OLD.ipynb NEW.ipynb [--threshold P%%] [--alpha A] [--format text|bench]")}
	}
	var nbs []compare.Notebook
	for _, p := range paths {
		entries, err := compare.ReadNotebook(p)
		if err != nil {
			return badInput{err}
		}
		nbs = append(nbs, compare.Notebook{Path: p, Entries: entries})
	}
	if *format == "bench" {
		return compare.WriteBench(stdout, nbs...)
	}
	if *benchOut != "" {
		if err := writeBenchFile(*benchOut, nbs); err != nil {
			return err
		}
	}
	rep := compare.Compare(nbs[0].Entries, nbs[1].Entries, opts)
	switch {
	case rep.Matched == 0:
		return badInput{fmt.Errorf("no result of %s matches one of %s: are they runs of the same notebook?", paths[0], paths[1])}
	case len(rep.Rows) == 0:
		return badInput{fmt.Errorf("the results of %s and %s match but have no figure in common (was %%timeit -c used in one only?)", paths[0], paths[1])}
	}
	if err := rep.WriteText(stdout, paths[0], paths[1], opts); err != nil {
		return err
	}
	if len(rep.Regressions()) > 0 {
		return exitCode(1)
	}
	return nil
}

// writeBenchFile writes the notebooks' figures as Go benchmark text to
// path.
func writeBenchFile(path string, nbs []compare.Notebook) error {
	var b bytes.Buffer
	if err := compare.WriteBench(&b, nbs...); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
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

// enterFolder sets the notebook's path (and the output's) in opts as
// absolute paths, then changes to the notebook's folder, where Jupyter
// would start its kernel: relative file names and the notebook's Go module
// then mean the same as in Jupyter.
func enterFolder(opts *runner.Options, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("finding the notebook %s: %w", path, err)
	}
	opts.Path = abs
	if opts.Output != "" {
		if opts.Output, err = filepath.Abs(opts.Output); err != nil {
			return fmt.Errorf("finding the output %s: %w", opts.Output, err)
		}
	}
	if err := os.Chdir(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("changing to the notebook's folder: %w", err)
	}
	return nil
}

// parseInterspersed parses the flags of args wherever they stand, before
// or after the positional arguments (perfnb run NB -o OUT, or -o OUT NB),
// and returns the positional ones; ok is false when a flag did not parse
// (the flag set has said why).
func parseInterspersed(fs *flag.FlagSet, args []string) (positional []string, ok bool) {
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, false
		}
		args = fs.Args()
		if len(args) > 0 {
			positional, args = append(positional, args[0]), args[1:]
		}
	}
	return positional, true
}
