// Package engine is the %engine line magic: which engine runs the
// notebook's cells.
//
//	%engine            show the engine
//	%engine compiled   run every cell compiled, with the compiler's semantics
//	%engine auto       run a cell in the interpreter when it can, compiled otherwise
//
// A cell is Go: the compiler is the reference, and the interpreter the
// fast path for what it runs faithfully (see runtime/session). %%go runs
// one cell compiled.
package engine

import (
	"context"
	"strings"

	"github.com/perfnb/perfnb/magics"
)

// Magic is %engine.
type Magic struct{}

// New returns %engine.
func New() *Magic { return &Magic{} }

// Name returns "engine".
func (*Magic) Name() string { return "engine" }

// Doc documents the magic.
func (*Magic) Doc() string {
	return magics.Doc{
		Summary: "Which engine runs the cells: compiled, or the interpreter where it runs a cell faithfully (auto, the default)",
		Usage:   []string{"%engine", "%engine compiled", "%engine auto"},
	}.String()
}

// Modes reports that %engine is a line magic only.
func (*Magic) Modes() (line, cell bool) { return true, false }

// Run sets the engine, or shows it.
func (*Magic) Run(_ context.Context, call magics.Call, env magics.Env) (any, error) {
	if env.Engine == nil {
		return nil, magics.UsageError("%%engine: this kernel has a single engine")
	}
	mode := strings.TrimSpace(call.Args)
	switch mode {
	case "", "compiled", "auto":
	default:
		return nil, magics.UsageError("usage: %%engine [compiled|auto], not %q", mode)
	}
	now, err := env.Engine(mode)
	if err != nil {
		return nil, err
	}
	if env.Publisher != nil {
		env.Publisher.Stream("stdout", "engine: "+now+"\n")
	}
	return nil, nil
}
