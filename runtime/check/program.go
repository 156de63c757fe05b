package check

import (
	"context"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/stdpkg"
)

// Program is the type information of the notebook's program as it stood
// when a cell checked.
type Program struct {
	// Pkg is the notebook's package: the objects of the store's
	// declarations and of the cell's.
	Pkg *types.Package
	// Info is the type information of the cell's syntax (of the whole
	// program when the cell needed a full check). A func or method the
	// cell declares again is checked as a blank one (its name is not in
	// Defs), and a variable it declares again as a local variable of the
	// cell (its name's Defs entry is that local).
	Info *types.Info
	fset *token.FileSet
	// anchor is a position in the program's file scope outside any
	// function, where the imports and package-level names are in scope.
	anchor token.Pos
	// im and autoImport import, for TypeOf, the standard packages an
	// expression names that no cell has imported yet.
	im         *Importer
	autoImport func(name string) (path string, ok bool)

	c       *Checker
	count   int
	items   []cell.Item            // the cell's items checked
	records map[string]*declRecord // the cell's declarations, by store key
	al      *aliases
	eff     *effects // what running the items does directly
	lits    *effects // what the func literals of the items may do
	changes *Changes // MayChange's answer, once asked
}

// fresh marks the cell's own declarations in the clone of the store.
const fresh = -1

// Check type-checks the Go items of cell count (parsed with cell.ParseIn
// in the checker's Fset) against the declarations of store and, when it
// is called again for the same cell before Commit (the items after a
// magic), of the items of the cell checked before. It returns the checked
// program, or an *Error with the compile errors that lie in the cell. An
// error in an earlier cell's declaration (one that no longer compiles
// after a redefinition) is the cell's error only where the cell uses that
// declaration ("f no longer compiles: ..."). Items without syntax are not
// checked; with none, Check returns the program of the store as it is.
//
// Cancelling ctx stops the go command that reads imports.
func (c *Checker) Check(ctx context.Context, store *cell.Store, items []cell.Item, count int) (*Program, error) {
	if !hasSyntax(items) {
		return c.program(ctx, store)
	}
	if c.pending != nil && c.pending.count != count {
		c.abandon(store)
	}
	if bs := c.current(); bs != nil && !bs.dirty && (c.pending != nil || c.inSync(store)) {
		prog, err, ok := c.checkIncremental(ctx, bs, items, count)
		if ok {
			return prog, err
		}
	}
	return c.checkFull(ctx, store, items, count)
}

// hasSyntax reports whether any item has Go syntax to check.
func hasSyntax(items []cell.Item) bool {
	for _, it := range items {
		if it.Syntax != nil {
			return true
		}
	}
	return false
}

// program returns the program of the store's declarations, checking them
// when the base does not follow the store.
func (c *Checker) program(ctx context.Context, store *cell.Store) (*Program, error) {
	if c.pending == nil && !c.inSync(store) {
		bs, prog, err := c.full(ctx, store, nil, 0)
		if err != nil {
			return nil, err
		}
		c.base = bs
		return prog, nil
	}
	bs := c.current()
	return &Program{Pkg: bs.pkg, Info: &types.Info{}, fset: c.fset, anchor: bs.anchor, im: c.im, autoImport: c.autoImport, c: c}, nil
}

// checkFull checks the cell as part of one program with every stored
// declaration (those the cell redefines left out, as Store.Add would),
// function bodies included, and, when it checks, makes that program the
// base the cell's Commit installs.
func (c *Checker) checkFull(ctx context.Context, store *cell.Store, items []cell.Item, count int) (*Program, error) {
	if c.pending != nil && c.pending.count == count && len(c.pending.decls) > 0 {
		// The items after a magic: the store plus what the cell's items
		// before it declared.
		store = store.Clone()
		store.Add(c.pending.decls...)
	}
	bs, prog, err := c.full(ctx, store, items, count)
	if err != nil {
		return nil, err
	}
	p := c.pend(count)
	p.full = bs
	p.add(prog)
	return prog, nil
}

// full checks items against store as one program, from scratch, and
// returns the base that program makes.
func (c *Checker) full(ctx context.Context, store *cell.Store, items []cell.Item, count int) (*base, *Program, error) {
	c.fulls++
	b := newBuilder(c, count)
	var own []cell.Decl
	for _, it := range items {
		for _, d := range it.Decls {
			d.Cell = fresh
			own = append(own, d)
		}
	}
	pending := store
	if len(own) > 0 {
		pending = store.Clone()
		pending.Add(own...)
	}
	parsed := make(map[declKey]*parsedDecl, pending.Len())
	var stored []cell.Decl
	for _, d := range pending.Decls() {
		if d.Cell != fresh {
			p := c.parse(d)
			parsed[declKey{d.Kind, d.Cell, d.Line, d.Source}] = p
			b.stored(p, d.Cell)
			stored = append(stored, d)
		}
	}
	c.parsed = parsed // forget the syntax of declarations no longer stored
	imports := b.importSet.clone()
	for _, it := range items {
		b.item(it)
	}
	prog, err := c.run(ctx, b, pending.Names())
	if err != nil {
		return nil, nil, err
	}
	bs := newBase(prog.Pkg, store, b.anchor, imports)
	for _, d := range stored {
		if p := c.parse(d); p.err == nil {
			recs := declRecords(p.decl, d, prog.Info, prog.Pkg, bs.alias)
			bs.record(recs)
			for _, r := range recs {
				for n := range r.eff.escapes {
					c.escaped[n] = true
				}
			}
		}
	}
	bs.broken = b.broken
	prog.describe(items, bs)
	return bs, prog, nil
}

// describe gives the program of a cell checked against bs what
// MayChange and Commit need: the records of the cell's declarations and
// what its items do.
func (p *Program) describe(items []cell.Item, bs *base) {
	p.items = items
	p.al = bs.alias
	p.records = itemRecords(items, p.Info, p.Pkg, bs.alias)
	p.eff, p.lits = cellEffects(items, p.Info, p.Pkg, bs.alias)
}

// parse returns the syntax of a stored declaration, parsed once.
func (c *Checker) parse(d cell.Decl) *parsedDecl {
	k := declKey{d.Kind, d.Cell, d.Line, d.Source}
	if p, ok := c.parsed[k]; ok {
		return p
	}
	p := &parsedDecl{}
	p.decl, p.err = cell.ParseDecl(c.fset, d)
	if p.err == nil {
		p.file = c.fset.File(p.decl.Pos())
		p.sels = selectors(p.decl)
	}
	c.parsed[k] = p
	return p
}

// selectors lists the identifiers used as X in X.Sel within n.
func selectors(n ast.Node) []string {
	var out []string
	ast.Inspect(n, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := s.X.(*ast.Ident); ok {
				out = append(out, id.Name)
			}
		}
		return true
	})
	return out
}

// builder assembles the program of one check.
type builder struct {
	c     *Checker
	count int
	importSet
	decls   []ast.Decl
	body    []ast.Stmt
	exprs   []ast.Node          // expressions whose value the cell shows
	files   map[*token.File]int // cell of each file of syntax
	sels    map[string]bool     // selector X identifiers
	defined map[string]bool     // names the cell declared so far
	diags   []Diag              // errors found while assembling
	first   token.Pos           // the cell's first position
	anchor  token.Pos           // see Program.anchor
	// lastKept says whether the last error reported was kept (so that
	// its continuation lines are).
	lastKept bool
	// defines gives the number of names of each top-level x := f() of the
	// cell, by the position of its first value.
	defines map[token.Pos]int
	// declNames are the names each stored declaration's file declares,
	// broken the first error of those that no longer compile (after a
	// redefinition), by name.
	declNames map[*token.File][]string
	broken    map[string]string
	nodes     []ast.Node // the cell's syntax

	inc *incremental // set for an incremental check
	// locals are the variables an incremental check declares as locals
	// (a redefinition of an earlier variable), by the position of their
	// name.
	locals map[token.Pos]*local
}

func newBuilder(c *Checker, count int) *builder {
	return &builder{c: c, count: count, files: map[*token.File]int{}, importSet: importSet{byName: map[string]int{}},
		sels: map[string]bool{}, defined: map[string]bool{}, defines: map[token.Pos]int{},
		declNames: map[*token.File][]string{}, broken: map[string]string{}, locals: map[token.Pos]*local{}}
}

// stored adds a stored declaration of cell cellNo.
func (b *builder) stored(p *parsedDecl, cellNo int) {
	if p.err != nil {
		return
	}
	b.files[p.file] = cellNo
	b.declNames[p.file] = cell.DeclaredNames(p.decl)
	for _, s := range p.sels {
		b.sels[s] = true
	}
	b.decl(p.decl)
}

// decl adds a package-level declaration, its imports to the import list.
func (b *builder) decl(d ast.Decl) {
	if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
		for _, s := range g.Specs {
			b.importSpec(s.(*ast.ImportSpec))
		}
		return
	}
	b.decls = append(b.decls, d)
}

// ImportName guesses the package name of an import path as the go command
// names it by default: stdpkg.Name (math/rand/v2 is rand), without a go-
// prefix, with - and . as _ (go-cmp is cmp).
func ImportName(importPath string) string {
	base := strings.TrimPrefix(stdpkg.Name(importPath), "go-")
	return strings.NewReplacer("-", "_", ".", "_").Replace(base)
}

// item adds the syntax of one cell item.
func (b *builder) item(it cell.Item) {
	if it.Syntax == nil {
		return
	}
	nodes := []ast.Node{}
	for _, d := range it.Syntax.Decls {
		nodes = append(nodes, d)
		b.declared(d)
		if b.inc != nil {
			b.inc.decl(b, d)
		} else {
			b.decl(d)
		}
	}
	for _, s := range it.Syntax.Stmts {
		nodes = append(nodes, s)
		b.stmt(it.Kind, s)
	}
	b.nodes = append(b.nodes, nodes...)
	for _, n := range nodes {
		if !b.first.IsValid() {
			b.first = n.Pos()
		}
		b.files[b.c.fset.File(n.Pos())] = b.count
		for _, s := range selectors(n) {
			b.sels[s] = true
		}
	}
}

// declared notes the names a cell's declaration declares.
func (b *builder) declared(d ast.Decl) {
	if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				b.defined[n.Name] = true
			}
		}
	}
}

// stmt adds a top-level statement: x := f() as a package-level var, the
// others to the body of the cell's function.
func (b *builder) stmt(kind cell.Kind, s ast.Stmt) {
	if kind == cell.Expression {
		b.exprs = append(b.exprs, s)
	}
	gd, ok := cell.DefineAsVar(s)
	if !ok {
		b.body = append(b.body, s)
		return
	}
	spec := gd.Specs[0].(*ast.ValueSpec)
	// A name the cell declared already is assigned, as in a function
	// body (f, err := ...; g, err := ...).
	names := make([]*ast.Ident, len(spec.Names))
	news := 0
	for k, id := range spec.Names {
		names[k] = id
		if b.defined[id.Name] || id.Name == "_" {
			names[k] = &ast.Ident{NamePos: id.NamePos, Name: "_"}
			continue
		}
		b.defined[id.Name] = true
		news++
	}
	if news == 0 {
		b.diag(s.Pos(), "no new variables on left side of :=")
		return
	}
	if b.inc != nil && b.inc.define(b, s.(*ast.AssignStmt), names) {
		return
	}
	b.defines[spec.Values[0].Pos()] = len(names)
	b.decls = append(b.decls, &ast.GenDecl{TokPos: gd.TokPos, Tok: token.VAR,
		Specs: []ast.Spec{&ast.ValueSpec{Names: names, Values: spec.Values}}})
}

func (b *builder) diag(pos token.Pos, msg string) {
	p := b.c.fset.Position(pos)
	b.diags = append(b.diags, Diag{Cell: b.count, Line: p.Line, Col: p.Column, Msg: msg})
}
