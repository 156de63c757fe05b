package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// stopSignals are the signals that stop perfnb run and perfnb compare
// --run cleanly, writing what they have: the interrupt of a terminal,
// and the SIGTERM and SIGHUP that CI systems, timeout(1) and a closed
// terminal send.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// signalContext returns a context that one of stopSignals cancels, with
// the signal as its cause, and the function that stops listening.
// Later signals are received and ignored until then, so that the
// partial notebook is written.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, stopSignals...)
	var done atomic.Bool
	go func() {
		for sig := range ch {
			if !done.Swap(true) {
				cancel(signalError{sig})
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(ch)
		cancel(nil)
	}
}

// signalError is the cause of a context that a signal cancelled.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "stopped by " + e.sig.String() }

// signaled returns err, or, when a signal cancelled ctx, err with the exit
// status a shell gives a command that the signal ended, 128 + its
// number (130 for an interrupt, 143 for SIGTERM), so that a CI job sees
// the run did not finish.
func signaled(ctx context.Context, err error) error {
	var se signalError
	if err == nil || !errors.As(context.Cause(ctx), &se) {
		return err
	}
	n, ok := se.sig.(syscall.Signal)
	if !ok {
		return err
	}
	return exitAfter{err: err, code: 128 + int(n)}
}

// exitAfter is an error to print, then exit with code.
type exitAfter struct {
	err  error
	code int
}

func (e exitAfter) Error() string { return e.err.Error() }
func (e exitAfter) Unwrap() error { return e.err }
