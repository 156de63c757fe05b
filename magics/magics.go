// Package magics holds what every magic shares: the call of a %line or
// %%cell magic, the environment it runs in, the registry that finds it by
// name, and IPython-style option parsing. The magics themselves live in
// the sub-packages timeit, timeonce (%time), memit and scalene, except
// %lsmagic, which every registry holds. NativeError, Output,
// Env.NativeWorkspace, Env.NewRecord and the formatters Thousands,
// FormatCount and FormatTime (with sysmem.FormatBytes for sizes) are what
// the magics that run native code share: one set of error names, one
// capped output stream, one way to get the workspace, one record of a
// result (package record), one style of numbers.
package magics

import (
	"context"
	"sort"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/native"
)

// Call is one use of a magic in a cell: the magic as the cell parser read
// it (its name, arguments and their column, body and lines) and the cell's
// execution count.
type Call struct {
	cell.Magic
	Count int // execution count of the cell (the n of In[n])
}

// Env is what a magic may use while it runs.
type Env struct {
	// Decls are the declarations stored from earlier successful cells.
	Decls []cell.Decl
	// Publisher receives the magic's outputs (display bundles, streams).
	Publisher protocol.Publisher
	// Workspace returns the kernel's native workspace, creating it on
	// first use.
	Workspace func() (*native.Workspace, error)
	// SetVar defines or replaces a variable that later cells can use
	// (for -v NAME).
	SetVar func(name string, value any) error
	// Version is perfnb's version, recorded with every result.
	Version string
	// Engine, when not nil, sets the engine that runs the notebook's
	// cells to mode ("compiled" or "auto"; "" changes nothing) and
	// returns the engine in force (%engine).
	Engine func(mode string) (string, error)
}

// Magic is a named magic.
type Magic interface {
	// Name is the magic's name without % signs, such as "timeit".
	Name() string
	// Doc is a one-line description for %lsmagic and completion.
	Doc() string
	// Run runs the magic. The value it returns, if not nil, becomes the
	// cell's value when the magic is the cell's last item (for -o); a value
	// with a String method is shown with it. A returned *protocol.Error is
	// shown as it is; any other error is shown with its text.
	Run(ctx context.Context, call Call, env Env) (any, error)
}

// Registry finds magics by name.
type Registry struct {
	byName map[string]Magic
}

// NewRegistry returns a registry holding the given magics and %lsmagic,
// which lists them (a magic named "lsmagic" among ms replaces it).
func NewRegistry(ms ...Magic) *Registry {
	r := &Registry{byName: make(map[string]Magic)}
	r.byName["lsmagic"] = &lsmagic{r: r}
	for _, m := range ms {
		r.byName[m.Name()] = m
	}
	return r
}

// Lookup returns the magic with the given name.
func (r *Registry) Lookup(name string) (Magic, bool) {
	m, ok := r.byName[name]
	return m, ok
}

// Names returns the names of the registered magics, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Run runs the magic that call names. A magic that is unknown, or used
// in a mode it does not have (see Modes), is a UsageError.
func (r *Registry) Run(ctx context.Context, call Call, env Env) (any, error) {
	m, ok := r.Lookup(call.Name)
	if ok {
		line, cell := modes(m)
		ok = call.Cell && cell || !call.Cell && line
	}
	if !ok {
		if call.Cell {
			return nil, UsageError("Cell magic `%%%%%s` not found.", call.Name)
		}
		return nil, UsageError("Line magic function `%%%s` not found.", call.Name)
	}
	return m.Run(ctx, call, env)
}

// Source is the magic as typed: its line and, for a cell magic, its body.
func (c Call) Source() string {
	src := "%" + c.Name
	if c.Cell {
		src = "%" + src
	}
	if c.Args != "" {
		src += " " + c.Args
	}
	if c.Cell && c.Body != "" {
		src += "\n" + c.Body
	}
	return src
}

// NewRecord starts the record of what call measures with the test binary
// at binary: its magic, source and cell, and the environment, collected
// now (call it just before the measurement, for the load average).
func (e Env) NewRecord(call Call, binary string) *record.Record {
	return &record.Record{Magic: call.Name, Source: call.Source(), Cell: call.Count,
		Environment: record.Collect(binary, e.Version)}
}
