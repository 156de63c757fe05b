package check

import (
	"context"
	"go/ast"
	"go/token"
	"go/types"

	"github.com/perfnb/perfnb/runtime/cell"
)

// An incremental check checks one cell against the base with a new
// types.Checker on the base's package: go/types resolves the cell's
// names in the package scope that earlier checks filled, and inserts
// there the package-level names the cell declares, without checking the
// earlier declarations again. What the package scope cannot take is
// checked in a form that declares nothing at package level:
//
//   - a variable declared again (x := f() with x declared by an earlier
//     cell) is a local variable of the cell's function, which must have
//     the earlier variable's type;
//   - a func or method declared again is a blank one (func _, or the
//     method _ of its receiver) with its body, which must have the
//     earlier signature;
//   - a type or const declared again with the same source is left out
//     (it declares what it declared);
//   - a method on a type of an earlier cell is added to the type's
//     method set once its signature checked (types.Named.AddMethod), and
//     its body is checked as a blank method.
//
// Anything else that declares an existing name (a type, const or import
// name redefined, a signature or variable type changed, a name of the
// universe or a package name that stored declarations use) needs a full
// check, as does a cell on which go/types would panic (a type declared
// as another type of an earlier cell, which go/types looks up among the
// declarations of its own Checker).

// incremental is the state of an incremental check.
type incremental struct {
	bs   *base
	fail bool // the cell needs a full check

	// cellTypes are the type names the cell declares.
	cellTypes map[string]bool
	// sources are the Source of the cell's declarations, by store key.
	sources map[string]string
	// news are the package-level names the cell declares, which the
	// check inserts in the base's scope.
	news map[string]bool
	// redefs are the funcs and methods the cell declares again, checked
	// as blank ones.
	redefs []redef
	// methods are the methods the cell declares on types of earlier
	// cells, by type then name.
	methods []*ast.FuncDecl
	seen    map[string]bool // "T.M" of methods
}

// redef is a func or method declared again, checked as the blank copy
// named blank, which must have old's signature.
type redef struct {
	blank *ast.Ident
	old   *types.Func
}

// local is a variable declared again, checked as a local variable of
// the cell's function, which must have old's type.
type local struct {
	old    *types.Var
	id     *ast.Ident
	values []ast.Expr
}

func newIncremental(bs *base, items []cell.Item) *incremental {
	inc := &incremental{bs: bs, cellTypes: map[string]bool{}, sources: map[string]string{},
		news: map[string]bool{}, seen: map[string]bool{}}
	for _, it := range items {
		for _, d := range it.Decls {
			inc.sources[d.Name] = d.Source
		}
		if it.Syntax == nil {
			continue
		}
		for _, d := range it.Syntax.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, s := range g.Specs {
					inc.cellTypes[s.(*ast.TypeSpec).Name.Name] = true
				}
			}
		}
	}
	return inc
}

// checkIncremental checks the items of cell count against bs. It
// reports ok false when the cell needs a full check instead.
func (c *Checker) checkIncremental(ctx context.Context, bs *base, items []cell.Item, count int) (prog *Program, err error, ok bool) {
	b := newBuilder(c, count)
	inc := newIncremental(bs, items)
	b.inc = inc
	b.importSet = bs.imports.clone()
	for _, it := range items {
		b.item(it)
		if inc.fail {
			return nil, nil, false
		}
	}
	b.broken = bs.broken
	b.autoImports(ctx, func(name string) bool {
		return inc.news[name] || b.defined[name] || bs.pkg.Scope().Lookup(name) != nil || c.vars[name] != nil
	})
	if len(inc.methods) > 0 && !c.addMethods(ctx, b) {
		return nil, nil, false
	}
	info := c.newInfo(8, 8)
	checked := c.typeCheck(ctx, b, bs.pkg, info)
	bs.files++
	if !checked {
		bs.dirty = true
		return nil, nil, false
	}
	if !inc.verify(c, b, info) {
		inc.leaveGhosts()
		return nil, nil, false
	}
	b.useOfBroken(bs.pkg, info)
	if err := b.err(); err != nil {
		inc.leaveGhosts()
		return nil, err, true
	}
	prog = c.checked(b, bs.pkg, info)
	prog.describe(items, bs)
	p := c.pend(count)
	p.add(prog)
	for n := range inc.news {
		if o := bs.pkg.Scope().Lookup(n); o != nil {
			p.objs[n] = o
		}
	}
	p.methods = p.methods || len(inc.methods) > 0
	return prog, nil, true
}

// leaveGhosts records the names the check inserted in the base's scope
// for a cell that does not run as checked: they remain there (a scope
// cannot forget a name), and a later cell that uses or declares one gets
// a full check. Methods added to earlier types make the base dirty.
func (inc *incremental) leaveGhosts() {
	for n := range inc.news {
		if o := inc.bs.pkg.Scope().Lookup(n); o != nil {
			inc.bs.ghosts[n] = o
		}
	}
	if len(inc.methods) > 0 {
		inc.bs.dirty = true
	}
}

// verify reports whether the cell means, checked incrementally, what it
// would mean checked whole: each func or method declared again kept its
// signature, each variable declared again its type, no variable declared
// again depends on itself for its initial value, and the cell uses no
// name a cell that did not run left in the scope.
func (inc *incremental) verify(c *Checker, b *builder, info *types.Info) bool {
	for _, r := range inc.redefs {
		f, ok := info.Defs[r.blank].(*types.Func)
		if !ok || !sameSignature(f, r.old) {
			return false
		}
	}
	for _, l := range b.locals {
		v, ok := info.Defs[l.id].(*types.Var)
		if !ok || !types.Identical(v.Type(), l.old.Type()) || c.refersTo(l.values, info, l.old) {
			return false
		}
	}
	for _, o := range info.Uses {
		if g, ok := inc.bs.ghosts[o.Name()]; ok && g == o {
			return false
		}
	}
	return true
}

// sameSignature reports whether two funcs or methods have identical
// signatures and receivers of the same kind (pointer or not).
func sameSignature(a, b *types.Func) bool {
	sa, sb := a.Signature(), b.Signature()
	if !types.Identical(sa, sb) || (sa.Recv() == nil) != (sb.Recv() == nil) {
		return false
	}
	if sa.Recv() == nil {
		return true
	}
	_, pa := sa.Recv().Type().(*types.Pointer)
	_, pb := sb.Recv().Type().(*types.Pointer)
	return pa == pb
}

// refersTo reports whether the expressions refer to v, directly or
// through the declarations they use (as a package-level var x = f()
// whose f reads x depends on itself, an initialization cycle).
func (c *Checker) refersTo(exprs []ast.Expr, info *types.Info, v *types.Var) bool {
	var queue []string
	found := false
	for _, e := range exprs {
		ast.Inspect(e, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				if o := info.Uses[id]; o == v {
					found = true
				} else if o != nil && o.Parent() == o.Pkg().Scope() {
					queue = append(queue, o.Name())
				}
			}
			return !found
		})
	}
	seen := map[string]bool{}
	for len(queue) > 0 && !found {
		k := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[k] {
			continue
		}
		seen[k] = true
		if k == v.Name() {
			return true
		}
		if r := c.record(k); r != nil {
			queue = append(queue, r.uses...)
		}
	}
	return found
}

// decl adds a declaration of the cell to an incremental check, in the
// form the base can take, or marks the check as needing a full one.
func (inc *incremental) decl(b *builder, d ast.Decl) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil {
			inc.funcDecl(b, d)
		} else {
			inc.methodDecl(b, d)
		}
	case *ast.GenDecl:
		switch d.Tok {
		case token.IMPORT:
			for _, s := range d.Specs {
				inc.importSpec(b, s.(*ast.ImportSpec))
			}
		case token.TYPE, token.CONST:
			inc.typeOrConst(b, d)
		case token.VAR:
			for _, s := range d.Specs {
				s := s.(*ast.ValueSpec)
				g := &ast.GenDecl{Doc: d.Doc, TokPos: d.TokPos, Tok: token.VAR, Specs: []ast.Spec{s}}
				if !inc.vars(b, s.Names, s.Values, &ast.DeclStmt{Decl: g}) {
					b.decls = append(b.decls, g)
				}
			}
		}
	}
}

// importSpec adds an import of the cell: one that binds a local name to
// another package than the stored imports do, or a package to another
// name, needs a full check (stored declarations may use the name).
func (inc *incremental) importSpec(b *builder, s *ast.ImportSpec) {
	name := importName(s)
	if name == "." {
		inc.fail = true
		return
	}
	if i, ok := inc.bs.imports.byName[name]; ok && name != "_" && inc.bs.imports.imports[i].Path.Value != s.Path.Value {
		inc.fail = true
		return
	}
	for n, i := range inc.bs.imports.byName {
		if inc.bs.imports.imports[i].Path.Value == s.Path.Value && n != name && name != "_" {
			inc.fail = true // the store keeps one import of a path: the earlier name goes
			return
		}
	}
	b.importSpec(s)
}

// isNew reports whether name is free for the cell to declare at package
// level; a name the base declares, or one whose declaration would change
// what stored declarations mean (a predeclared name such as len, a
// package name they use), is not. It fails the check when the name
// cannot be declared incrementally at all.
func (inc *incremental) isNew(name string) bool {
	if name == "_" {
		return true
	}
	if types.Universe.Lookup(name) != nil || inc.bs.quals[name] || inc.bs.ghosts[name] != nil {
		inc.fail = true
		return false
	}
	if inc.bs.pkg.Scope().Lookup(name) != nil {
		return false
	}
	inc.news[name] = true
	return true
}

// funcDecl adds a func: a new one as it is, one declared again as a
// blank func.
func (inc *incremental) funcDecl(b *builder, d *ast.FuncDecl) {
	if d.Name.Name == "init" || inc.isNew(d.Name.Name) {
		b.decls = append(b.decls, d)
		return
	}
	old, ok := inc.bs.pkg.Scope().Lookup(d.Name.Name).(*types.Func)
	if !ok {
		inc.fail = true // a func that replaces a var, type or const
		return
	}
	b.decls = append(b.decls, inc.blank(d, old))
}

// blank returns a copy of d named _ and notes that it must have old's
// signature.
func (inc *incremental) blank(d *ast.FuncDecl, old *types.Func) *ast.FuncDecl {
	c := *d
	c.Name = &ast.Ident{NamePos: d.Name.NamePos, Name: "_"}
	inc.redefs = append(inc.redefs, redef{c.Name, old})
	return &c
}

// methodDecl adds a method: on a type of the cell as it is; on a type of
// an earlier cell, as a blank method, its signature added to the type
// before the check (a new method) or compared after it (one declared
// again).
func (inc *incremental) methodDecl(b *builder, d *ast.FuncDecl) {
	recv := cell.ReceiverBase(d.Recv.List[0].Type)
	if inc.cellTypes[recv] || d.Name.Name == "_" {
		b.decls = append(b.decls, d)
		return
	}
	tn, ok := inc.bs.pkg.Scope().Lookup(recv).(*types.TypeName)
	if !ok || inc.bs.ghosts[recv] != nil {
		b.decls = append(b.decls, d) // the check reports it
		return
	}
	named, ok := tn.Type().(*types.Named)
	if !ok || tn.IsAlias() || named.TypeParams().Len() > 0 {
		inc.fail = true
		return
	}
	for i := range named.NumMethods() {
		if m := named.Method(i); m.Name() == d.Name.Name {
			b.decls = append(b.decls, inc.blank(d, m))
			return
		}
	}
	key := recv + "." + d.Name.Name
	if obj, _, _ := types.LookupFieldOrMethod(named, true, inc.bs.pkg, d.Name.Name); obj != nil || inc.seen[key] || inc.bs.embedded[recv] {
		// A clash with a field, or a method that hides a promoted one:
		// the full check reports it or finds what it breaks.
		inc.fail = true
		return
	}
	inc.seen[key] = true
	inc.methods = append(inc.methods, d)
	c := *d
	c.Name = &ast.Ident{NamePos: d.Name.NamePos, Name: "_"}
	b.decls = append(b.decls, &c)
}

// typeOrConst adds a type or const declaration: its new names as they
// are, names declared again with the same source left out, other names
// declared again needing a full check.
func (inc *incremental) typeOrConst(b *builder, d *ast.GenDecl) {
	var specs []ast.Spec
	for _, s := range d.Specs {
		var names []*ast.Ident
		switch s := s.(type) {
		case *ast.TypeSpec:
			names = []*ast.Ident{s.Name}
		case *ast.ValueSpec:
			names = s.Names
		}
		news, same := 0, 0
		for _, id := range names {
			if inc.isNew(id.Name) {
				news++
			} else if r := inc.bs.decls[id.Name]; r != nil && r.source == inc.sources[id.Name] && inc.bs.broken[id.Name] == "" {
				same++
			}
		}
		switch {
		case inc.fail:
			return
		case news == len(names):
			if ts, ok := s.(*ast.TypeSpec); ok && inc.namesEarlierType(ts.Type) {
				inc.fail = true // go/types would look for it among its own declarations
				return
			}
			specs = append(specs, s)
		case same != len(names):
			inc.fail = true
			return
		}
	}
	if len(specs) > 0 {
		g := *d
		g.Specs = specs
		b.decls = append(b.decls, &g)
	}
}

// namesEarlierType reports whether a type declaration's type is only the
// name of a type of an earlier cell (type U T, type U = T).
func (inc *incremental) namesEarlierType(t ast.Expr) bool {
	id, ok := ast.Unparen(t).(*ast.Ident)
	return ok && !inc.cellTypes[id.Name] && inc.bs.pkg.Scope().Lookup(id.Name) != nil
}

// vars classifies the names of a var declaration or top-level :=: all
// new, it is declared at package level (vars reports false); all
// declared before as variables, stmt is added to the cell's function,
// the names becoming its locals (vars reports true); a mix needs a full
// check.
func (inc *incremental) vars(b *builder, names []*ast.Ident, values []ast.Expr, stmt ast.Stmt) bool {
	var olds []local
	news := 0
	for _, id := range names {
		if id.Name == "_" {
			continue
		}
		if inc.isNew(id.Name) {
			news++
			continue
		}
		v, ok := inc.bs.pkg.Scope().Lookup(id.Name).(*types.Var)
		if !ok {
			inc.fail = true // a var that replaces a func, type or const
			return true
		}
		olds = append(olds, local{old: v, id: id, values: values})
	}
	if len(olds) > 0 && news > 0 {
		inc.fail = true
	}
	if len(olds) == 0 || inc.fail {
		return inc.fail
	}
	for i := range olds {
		b.locals[olds[i].id.Pos()] = &olds[i]
	}
	b.body = append(b.body, stmt)
	return true
}

// define handles a top-level x := f() of the cell in an incremental
// check (names as the full check rewrites them: those the cell declared
// already are _): it reports true when the statement was added as a
// local declaration.
func (inc *incremental) define(b *builder, s *ast.AssignStmt, names []*ast.Ident) bool {
	lhs := make([]ast.Expr, len(names))
	for i, id := range names {
		lhs[i] = id
	}
	local := &ast.AssignStmt{Lhs: lhs, TokPos: s.TokPos, Tok: token.DEFINE, Rhs: s.Rhs}
	return inc.vars(b, names, s.Rhs, local)
}

// addMethods adds the cell's methods on types of earlier cells to those
// types, from their signatures checked first on their own: the cell's
// other declarations and statements may call them. It reports false when
// a signature does not check (the full check reports why).
func (c *Checker) addMethods(ctx context.Context, b *builder) bool {
	inc := b.inc
	only := newBuilder(c, b.count)
	only.importSet, only.files = b.importSet, b.files
	var blanks []*ast.Ident
	for _, d := range inc.methods {
		blank := &ast.Ident{NamePos: d.Name.NamePos, Name: "_"}
		blanks = append(blanks, blank)
		only.decls = append(only.decls, &ast.FuncDecl{Recv: d.Recv, Name: blank, Type: d.Type})
	}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	ok := c.typeCheck(ctx, only, inc.bs.pkg, info)
	inc.bs.files++
	if !ok || len(only.diags) > 0 {
		return false
	}
	sigs := make([]*types.Signature, len(inc.methods))
	for k := range inc.methods {
		f, ok := info.Defs[blanks[k]].(*types.Func)
		if !ok {
			return false
		}
		sigs[k] = f.Signature()
	}
	for k, d := range inc.methods {
		recv := cell.ReceiverBase(d.Recv.List[0].Type)
		named := inc.bs.pkg.Scope().Lookup(recv).Type().(*types.Named)
		named.AddMethod(types.NewFunc(d.Name.Pos(), inc.bs.pkg, d.Name.Name, sigs[k]))
	}
	return true
}

// importName is the local name an import spec binds.
func importName(s *ast.ImportSpec) string {
	if s.Name != nil {
		return s.Name.Name
	}
	p := s.Path.Value
	if len(p) >= 2 {
		p = p[1 : len(p)-1]
	}
	return ImportName(p)
}
