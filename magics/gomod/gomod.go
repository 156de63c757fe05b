// Package gomod is the %go line magic: the notebook's modules.
//
//	%go get MODULE[@VERSION] ...   pin or upgrade modules in the notebook's module
//	%go mod                        show the notebook's requirements and the modules in use
//
// %%go, the cell magic of the same name, runs its cell compiled: the
// session handles it (see runtime/session), and it is listed here.
//
// Requirements live in the notebook's own module (see runtime/modules): a
// notebook inside a Go module keeps that module's go.mod untouched, and
// its requirements and versions apply too.
package gomod

import (
	"context"
	"strings"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/modules"
)

// usage is shown for a %go line it does not understand.
const usage = "usage: %go get MODULE[@VERSION] ... (pin or upgrade a module) | %go mod (show the notebook's requirements)"

// Magic is %go.
type Magic struct {
	mods *modules.Notebook // nil: the kernel has no module context
	err  error             // why not
}

// New returns %go for the notebook's module context mods; when mods is
// nil, err says why there is none, and %go reports it.
func New(mods *modules.Notebook, err error) *Magic { return &Magic{mods: mods, err: err} }

// Name returns "go".
func (*Magic) Name() string { return "go" }

// Doc documents the magic.
func (*Magic) Doc() string {
	return magics.Doc{
		Summary: "The notebook's modules: pin or upgrade one, show the requirements; %%go runs its cell compiled",
		Usage:   []string{"%go get MODULE[@VERSION] ...", "%go mod", "%%go"},
	}.String()
}

// Modes reports that %go is a line magic, and %%go a cell magic (which
// the session runs).
func (*Magic) Modes() (line, cell bool) { return true, true }

// Run runs go get or shows the requirements; the go command's progress is
// published as it comes, and an interrupt stops it.
func (m *Magic) Run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	if call.Cell {
		return nil, magics.UsageError("%%%%go takes no arguments: the cell below it is the Go to run compiled")
	}
	fields := strings.Fields(call.Args)
	if len(fields) == 0 {
		return nil, magics.UsageError("%s", usage)
	}
	if m.mods == nil {
		msg := "the notebook has no module context"
		if m.err != nil {
			msg += ": " + m.err.Error()
		}
		return nil, protocol.NewError(protocol.Generic, msg)
	}
	out := magics.NewOutput(env.Publisher, "go").Stdout()
	switch fields[0] {
	case "get":
		if len(fields) == 1 {
			return nil, magics.UsageError("usage: %%go get MODULE[@VERSION] ...")
		}
		if err := m.mods.Get(ctx, fields[1:], out); err != nil {
			return nil, failure(ctx, err)
		}
		return nil, nil
	case "mod":
		if len(fields) > 1 {
			return nil, magics.UsageError("%%go mod takes no arguments")
		}
		text, err := m.mods.Requirements(ctx)
		if err != nil {
			return nil, failure(ctx, err)
		}
		_, _ = out.Write([]byte(text))
		return nil, nil
	}
	return nil, magics.UsageError("%s", usage)
}

// failure is the cell's error for err.
func failure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return protocol.NewError(protocol.GoError, err.Error())
}
