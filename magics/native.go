package magics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/native"
)

// ErrorKind is the kind of a magic's own errors, those that are not the
// cell's: "TimeitError" for the magic "timeit".
func ErrorKind(magic string) protocol.Kind {
	if magic == "" {
		return "MagicError"
	}
	return protocol.Kind(strings.ToUpper(magic[:1]) + magic[1:] + "Error")
}

// UsageError is the error of a magic used wrongly, as IPython words it:
// UsageError with the message fmt.Sprintf(format, args...).
func UsageError(format string, args ...any) *protocol.Error {
	return protocol.NewError(protocol.UsageError, fmt.Sprintf(format, args...))
}

// NativeWorkspace returns the kernel's native workspace for the magic
// named magic (without %), creating it on first use. When there is none,
// the error is a *protocol.Error of kind ErrorKind(magic) that says why.
func (e Env) NativeWorkspace(magic string) (*native.Workspace, error) {
	if e.Workspace == nil {
		return nil, protocol.NewError(ErrorKind(magic),
			fmt.Sprintf("no native workspace: %%%s needs the Go toolchain to build the code", magic))
	}
	ws, err := e.Workspace()
	if err != nil {
		return nil, protocol.NewError(ErrorKind(magic),
			fmt.Sprintf("cannot create the native workspace for %%%s: %v", magic, err))
	}
	return ws, nil
}

// NativeErrorOptions adjust NativeError for one magic.
type NativeErrorOptions struct {
	// Magic is the magic's name without %; errors that are not the
	// engine's are of kind ErrorKind(Magic).
	Magic string
	// MemoryLimit, when not empty, replaces the engine's summary of a
	// MemoryLimitExceeded error, so that it can name the limit the user
	// set and the magic's own way to change it.
	MemoryLimit string
}

// NativeError turns a failed native build or run into the cell's error.
// A *native.Error has the kind its Kind maps to (see native.Error.Name):
// CompileError, panic, Crash, Exit, Timeout, Interrupted or
// MemoryLimitExceeded; a compile error's traceback is the compiler's
// messages, which name cell lines (In[3]:5:2: undefined: x), and other
// tracebacks are the summary then the cell frames. When ctx is done the
// error is Interrupted, whatever the child died of. A *protocol.Error is
// returned as it is. Any other error is of kind ErrorKind(o.Magic): the
// engine gives every failure of the child its kind, so what is left is
// the magic's own (a file it could not write).
func NativeError(ctx context.Context, err error, o NativeErrorOptions) *protocol.Error {
	var ke *protocol.Error
	if errors.As(err, &ke) {
		return ke
	}
	var ne *native.Error
	isNative := errors.As(err, &ne)
	if ctx.Err() != nil || isNative && ne.Kind == native.Interrupted {
		value := "the cell was interrupted; its child process was stopped"
		if isNative && ne.Kind == native.Interrupted {
			value = ne.Summary
		}
		return protocol.NewError(protocol.Interrupted, value)
	}
	if !isNative {
		text := strings.TrimSpace(err.Error())
		return protocol.NewError(ErrorKind(o.Magic), firstLine(text), strings.Split(text, "\n")...)
	}
	value := ne.Summary
	if ne.Kind == native.OutOfMemory && o.MemoryLimit != "" {
		value = o.MemoryLimit
	}
	tb := append([]string{value}, ne.Lines...)
	if ne.Kind == native.CompileFailed && len(ne.Lines) > 0 {
		tb = ne.Lines
	}
	return protocol.NewError(ne.Name(), value, tb...)
}

func firstLine(text string) string {
	for l := range strings.Lines(text) {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// OutputBudget is how much a magic's child may print, in bytes, before
// the rest is discarded.
const OutputBudget = 1 << 20

// Output publishes what a magic's child process prints as the cell's
// streams, within OutputBudget shared by stdout and stderr. Its writers
// are safe for concurrent use, and discard everything when the Publisher
// is nil.
type Output struct {
	pub   protocol.Publisher
	magic string

	mu        sync.Mutex
	left      int
	truncated bool
}

// NewOutput returns an Output publishing to pub for the magic named magic
// (without %), which the truncation notice names.
func NewOutput(pub protocol.Publisher, magic string) *Output {
	return &Output{pub: pub, magic: magic, left: OutputBudget}
}

// Stdout returns a writer publishing on the stdout stream.
func (o *Output) Stdout() io.Writer { return streamWriter{o, "stdout"} }

// Stderr returns a writer publishing on the stderr stream.
func (o *Output) Stderr() io.Writer { return streamWriter{o, "stderr"} }

type streamWriter struct {
	o    *Output
	name string
}

func (w streamWriter) Write(p []byte) (int, error) {
	o := w.o
	if o.pub == nil {
		return len(p), nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.truncated {
		return len(p), nil
	}
	if len(p) > o.left {
		if o.left > 0 {
			o.pub.Stream(w.name, string(p[:o.left]))
		}
		o.pub.Stream(w.name, fmt.Sprintf("\n[output truncated: the cell printed more than %d MiB during %%%s; the rest was discarded]\n", OutputBudget>>20, o.magic))
		o.truncated, o.left = true, 0
		return len(p), nil
	}
	o.left -= len(p)
	o.pub.Stream(w.name, string(p))
	return len(p), nil
}
