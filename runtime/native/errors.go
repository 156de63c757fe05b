package native

import (
	"strings"

	"github.com/perfnb/perfnb/kernel/protocol"
)

// ErrorKind says how a build or a run failed.
type ErrorKind int

// The ways a build or a run can fail.
const (
	CompileFailed ErrorKind = iota + 1 // the code does not compile
	Panicked                           // the child panicked
	Crashed                            // fatal error, or killed by a signal it did not expect
	Exited                             // non-zero exit status: os.Exit, b.Fatal
	TimedOut                           // RunOptions.Timeout passed
	Interrupted                        // ctx was cancelled
	OutOfMemory                        // the memory limit was exceeded
)

// Error is a failed build or run, worded for the user. Its lines name cell
// positions (In[3]:5:2) where the compiler or the runtime gave them.
type Error struct {
	Kind ErrorKind
	// Summary is one line: "the cell panicked: runtime error: index out of
	// range [5] with length 3".
	Summary string
	// Lines are the details: compiler messages as the compiler prints them,
	// or the frames of a panic's trace that are in cells.
	Lines []string
	// Err is the underlying error, if any (ctx.Err() for Interrupted).
	Err error
}

// Error returns the summary followed by the detail lines.
func (e *Error) Error() string {
	if len(e.Lines) == 0 {
		return e.Summary
	}
	return e.Summary + "\n" + strings.Join(e.Lines, "\n")
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Name is the cell's error kind for the failure: CompileError, panic,
// Crash, Exit, Timeout, Interrupted or MemoryLimitExceeded.
func (e *Error) Name() protocol.Kind {
	switch e.Kind {
	case CompileFailed:
		return protocol.CompileError
	case Panicked:
		return protocol.Panic
	case Crashed:
		return protocol.Crash
	case Exited:
		return protocol.Exit
	case TimedOut:
		return protocol.Timeout
	case Interrupted:
		return protocol.Interrupted
	case OutOfMemory:
		return protocol.MemoryLimitExceeded
	}
	return protocol.Generic
}
