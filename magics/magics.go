// Package magics holds what every magic shares: the call of a %line or
// %%cell magic, the environment it runs in, the registry that finds it by
// name, and IPython-style option parsing. The magics themselves live in
// the sub-packages timeit (%timeit, %time), memit and scalene, except
// %lsmagic, which every registry holds. NativeError, Output,
// Env.NativeWorkspace, Env.NewRecord and the formatters Thousands,
// FormatCount and FormatTime (with sysmem.FormatBytes for sizes) are what
// the magics that run native code share: one set of error names, one
// capped output stream, one way to get the workspace, one record of a
// result (package record), one style of numbers.
package magics

import (
	"cmp"
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
	// Shared is set when the cell holds other items than this magic
	// (several %timeit lines, code around a magic): a magic that
	// measures a statement then labels its output with it.
	Shared bool
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
	// Doc describes the magic: a one-line summary, which %lsmagic
	// lists, then, after a blank line, its usage lines and options,
	// which %name? shows too (see the Doc type, which writes it from
	// the magic's declarations).
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

// Statement is the code of a line magic's call: rest, what follows the
// options on the magic line (a suffix of Args), with its line and column
// in the cell, so that compiler messages point at it.
func (c Call) Statement(rest string) native.Snippet {
	// ArgsCol is 0 only for a call made by hand, as in tests.
	col := cmp.Or(c.ArgsCol, 1+len("%"+c.Name+" ")) + len(c.Args) - len(rest)
	return native.Snippet{Source: rest, Cell: c.Count, Line: c.Line, Col: col}
}

// BodySnippet is the body of a cell magic's call, with its first line in
// the cell.
func (c Call) BodySnippet() native.Snippet {
	return native.Snippet{Source: c.Body, Cell: c.Count, Line: c.BodyLine, Col: 1}
}

// RunFunc runs a magic (see Magic.Run).
type RunFunc func(ctx context.Context, call Call, env Env) (any, error)

// Declared is a magic made of its declarations: its name, its
// documentation and the function that runs it, as http.HandlerFunc makes
// a handler of a function. It works as a line and as a cell magic.
type Declared struct {
	name string
	doc  func() Doc
	run  RunFunc
}

// Declare returns the magic named name, documented by doc, run by run.
func Declare(name string, doc func() Doc, run RunFunc) *Declared {
	return &Declared{name: name, doc: doc, run: run}
}

// Name returns the magic's name.
func (d *Declared) Name() string { return d.name }

// Doc returns the magic's documentation.
func (d *Declared) Doc() string { return d.doc().String() }

// Run runs the magic.
func (d *Declared) Run(ctx context.Context, call Call, env Env) (any, error) {
	return d.run(ctx, call, env)
}
