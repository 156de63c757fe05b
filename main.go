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
//	perfnb compare --run OLD.ipynb [NEW.ipynb] [--rounds N] [-p|--old-p|--new-p NAME VALUE ...] [options]
//	perfnb version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/perfnb/perfnb/install"
	"github.com/perfnb/perfnb/internal/nbformat"
	"github.com/perfnb/perfnb/kernel"
	"github.com/perfnb/perfnb/kernel/supervisor"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/engine"
	"github.com/perfnb/perfnb/magics/gomod"
	"github.com/perfnb/perfnb/magics/memit"
	"github.com/perfnb/perfnb/magics/prun"
	"github.com/perfnb/perfnb/magics/scalene"
	"github.com/perfnb/perfnb/magics/timeit"
	"github.com/perfnb/perfnb/runner"
	"github.com/perfnb/perfnb/runtime/modules"
	"github.com/perfnb/perfnb/runtime/session"
	"github.com/perfnb/perfnb/runtime/worker"
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
  perfnb compare OLD NEW [options]   compare the results saved in two notebooks
                                     (--threshold P%, --alpha A, --format text|bench,
                                     -o BENCH.txt)
  perfnb compare --run OLD [NEW]     run both now, their measured cells interleaved
                                     round by round (the gate for a shared machine;
                                     --rounds N, -p/--old-p/--new-p NAME VALUE,
                                     --timeout S)
                                     exit 0 no regression, 1 regression, 2 bad input,
                                     3 timings inconclusive (docs/compare.md)
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
		var after exitAfter
		switch {
		case errors.As(err, &after):
			os.Exit(after.code)
		case errors.As(err, new(badInput)):
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
// to it): its packages and modules are those of that folder; its
// temporary files go in tempDir ("" for the system's).
func newSession(tempDir string) *session.Session {
	extractor, _ := modules.SelfExtractor() // without it, cells read packages' source
	mods, err := modules.Open(context.Background(), modules.Options{Extractor: extractor})
	return session.New(session.Options{
		Version: version,
		Magics:  magics.NewRegistry(timeit.New(), timeit.NewTime(), memit.New(), scalene.New(), prun.New(), gomod.New(mods, err), engine.New()),
		Modules: mods,
		TempDir: tempDir,
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
		sess := newSession(worker.TempDir())
		sess.Warm(context.Background())
		return worker.ServeProcess(sess)
	case modules.ExtractArg:
		// Hidden: writes a package's symbol table for a plugin, in a
		// process the interpreter starts (see modules.Options.Extractor).
		return modules.ExtractMain(args, stdout)
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
	if len(params.old) > 0 || len(params.new) > 0 {
		return badInput{fmt.Errorf("--old-p and --new-p are for perfnb compare --run; perfnb run takes -p NAME VALUE")}
	}
	opts.Parameters = params.both
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
	ctx, stop := signalContext()
	defer stop()
	interp, err := newInterpreter(nil)
	if err != nil {
		return err
	}
	defer interp.Shutdown(false)
	err = runner.Run(ctx, interp, opts)
	var perr *runner.ParameterError
	var rerr *nbformat.ReadError
	if errors.As(err, &perr) || errors.As(err, &rerr) {
		return badInput{err}
	}
	return signaled(ctx, err)
}

// parameterSets are the -p NAME VALUE triples of a command line: for
// both notebooks (-p, --parameters) and, for perfnb compare --run, for
// the old or the new one only (--old-p, --new-p), which come after
// those of -p and so win over them.
type parameterSets struct {
	both, old, new []runner.Parameter
}

// parameterArgs takes the -p NAME VALUE triples (and --old-p and
// --new-p) out of args, which the flag package cannot parse.
func parameterArgs(args []string) (rest []string, params parameterSets, err error) {
	for i := 0; i < len(args); i++ {
		var into *[]runner.Parameter
		switch args[i] {
		case "-p", "--p", "-parameters", "--parameters":
			into = &params.both
		case "-old-p", "--old-p":
			into = &params.old
		case "-new-p", "--new-p":
			into = &params.new
		case "--":
			return append(rest, args[i:]...), params, nil
		default:
			rest = append(rest, args[i])
			continue
		}
		if i+2 >= len(args) {
			return nil, params, fmt.Errorf("%s needs a name and a value: %s NAME VALUE", args[i], args[i])
		}
		*into = append(*into, runner.Parameter{Name: args[i+1], Value: args[i+2]})
		i += 2
	}
	return rest, params, nil
}

// badInput is an error in what the user gave (arguments, files); perfnb
// exits with status 2 for it.
type badInput struct{ err error }

func (e badInput) Error() string { return e.err.Error() }
func (e badInput) Unwrap() error { return e.err }

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
