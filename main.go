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
//	perfnb run NOTEBOOK.ipynb [-o OUT.ipynb] [--allow-errors] [--timeout S]
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
	"os/signal"
	"time"

	"github.com/perfnb/perfnb/install"
	"github.com/perfnb/perfnb/kernel"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/memit"
	"github.com/perfnb/perfnb/magics/scalene"
	"github.com/perfnb/perfnb/magics/timeit"
	"github.com/perfnb/perfnb/runner"
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
                                     (-o OUT.ipynb, --allow-errors, --timeout S)
  perfnb version                     print the version
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "perfnb:", err)
		var exit exitCode
		if errors.As(err, &exit) {
			os.Exit(int(exit))
		}
		os.Exit(1)
	}
}

// exitCode is an error that asks for a particular exit status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newSession() *session.Session {
	return session.New(session.Options{
		Version: version,
		Magics:  magics.NewRegistry(timeit.New(), memit.New(), scalene.New()),
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
	fs.StringVar(&opts.Output, "o", "", "write the executed notebook to `FILE` instead of the input")
	fs.BoolVar(&opts.AllowErrors, "allow-errors", false, "go on after a cell fails")
	timeout := fs.Float64("timeout", 0, "stop a cell after `S` seconds (0: no limit)")
	// Accept the notebook before or after the flags.
	var paths []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return exitCode(2)
		}
		args = fs.Args()
		if len(args) > 0 {
			paths, args = append(paths, args[0]), args[1:]
		}
	}
	if len(paths) != 1 {
		return fmt.Errorf("usage: perfnb run NOTEBOOK.ipynb [-o OUT.ipynb] [--allow-errors] [--timeout S]")
	}
	opts.Path = paths[0]
	opts.Timeout = time.Duration(*timeout * float64(time.Second))
	opts.Progress = stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	interp, err := newInterpreter(nil)
	if err != nil {
		return err
	}
	defer interp.Shutdown(false)
	return runner.Run(ctx, interp, opts)
}
