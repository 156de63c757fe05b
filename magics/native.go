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

// ErrorName is the name of a magic's own errors, those that are not the
// cell's: "TimeitError" for the magic "timeit".
func ErrorName(magic string) string {
	if magic == "" {
		return "MagicError"
	}
	return strings.ToUpper(magic[:1]) + magic[1:] + "Error"
}

// NativeWorkspace returns the kernel's native workspace for the magic
// named magic (without %), creating it on first use. When there is none,
// the error is a *protocol.Error named ErrorName(magic) that says why.
func (e Env) NativeWorkspace(magic string) (*native.Workspace, error) {
	if e.Workspace == nil {
		return nil, &protocol.Error{Name: ErrorName(magic),
			Value: fmt.Sprintf("no native workspace: %%%s needs the Go toolchain to build the code", magic)}
	}
	ws, err := e.Workspace()
	if err != nil {
		return nil, &protocol.Error{Name: ErrorName(magic),
			Value: fmt.Sprintf("cannot create the native workspace for %%%s: %v", magic, err)}
	}
	return ws, nil
}

// NativeErrorOptions adjust NativeError for one magic.
type NativeErrorOptions struct {
	// Magic is the magic's name without %; errors that are not the
	// engine's are named ErrorName(Magic).
	Magic string
	// MemoryLimit, when not empty, replaces the engine's summary of a
	// MemoryLimitExceeded error, so that it can name the limit the user
	// set and the magic's own way to change it.
	MemoryLimit string
}

// NativeError turns a failed native build or run into the cell's error.
// A *native.Error is named by its Name: CompileError, panic, Crash, Exit,
// Timeout, Interrupted or MemoryLimitExceeded; a compile error's
// traceback is the compiler's messages, which name cell lines
// (In[3]:5:2: undefined: x), and other tracebacks are the summary then the
// cell frames. When ctx is done the error is Interrupted, whatever the
// child died of. A *protocol.Error is returned as it is. Any other error is
// named from its text when it tells a panic, a time limit or a memory
// limit, else ErrorName(o.Magic).
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
		return &protocol.Error{Name: "Interrupted", Value: value, Traceback: []string{value}}
	}
	if !isNative {
		// Not the engine's error: name it from its text.
		text := strings.TrimSpace(err.Error())
		lower := strings.ToLower(text)
		ne = &native.Error{Summary: firstLine(text), Lines: strings.Split(text, "\n")[1:]}
		switch {
		case strings.Contains(lower, "memory limit"):
			ne.Kind = native.OutOfMemory
		case strings.Contains(lower, "timed out") || strings.Contains(lower, "time limit"):
			ne.Kind = native.TimedOut
		case strings.Contains(lower, "panic"):
			ne.Kind = native.Panicked
		default:
			lines := strings.Split(text, "\n")
			return &protocol.Error{Name: ErrorName(o.Magic), Value: firstLine(text), Traceback: lines}
		}
	}
	value := ne.Summary
	if ne.Kind == native.OutOfMemory && o.MemoryLimit != "" {
		value = o.MemoryLimit
	}
	tb := append([]string{value}, ne.Lines...)
	if ne.Kind == native.CompileFailed && len(ne.Lines) > 0 {
		tb = ne.Lines
	}
	return &protocol.Error{Name: ne.Name(), Value: value, Traceback: tb}
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
