package check

import (
	"go/ast"
	"go/token"
	"go/types"

	"github.com/perfnb/perfnb/runtime/cell"
)

// effects is what running some code may do to the notebook's
// package-level variables, as far as its syntax and types tell.
type effects struct {
	// writes are the variables it assigns, increments or takes the
	// address of (x = ..., x.f = ..., x[i] = ... on an array, x++, &x,
	// x[:] on an array, a pointer-method call x.M()), by name; escapes
	// those whose address it takes.
	writes  map[string]bool
	escapes map[string]bool
	// through is the memory it may write through references (slice
	// elements, map entries, pointees, channels), by type.
	through typeSet
	// calls are the funcs and methods of the notebook it calls, by
	// store key (f, T.M); dynamic says that it calls code it cannot
	// name (a func value, an interface method).
	calls   map[string]bool
	dynamic bool
}

func newEffects() *effects {
	return &effects{writes: map[string]bool{}, escapes: map[string]bool{}, calls: map[string]bool{}}
}

// union adds what o may do to e.
func (e *effects) union(o *effects) {
	if o == nil {
		return
	}
	for n := range o.writes {
		e.writes[n] = true
	}
	for n := range o.escapes {
		e.escapes[n] = true
	}
	for n := range o.calls {
		e.calls[n] = true
	}
	e.through.union(o.through)
	e.dynamic = e.dynamic || o.dynamic
}

// typeSet is a set of kinds of memory by key (see aliases), or every
// kind.
type typeSet struct {
	top  bool
	keys map[string]bool
}

func (s *typeSet) add(k string) {
	if s.keys == nil {
		s.keys = map[string]bool{}
	}
	s.keys[k] = true
}

func (s *typeSet) union(o typeSet) {
	s.top = s.top || o.top
	for k := range o.keys {
		s.add(k)
	}
}

func (s typeSet) empty() bool { return !s.top && len(s.keys) == 0 }

// walker computes the effects and references of syntax from its type
// information.
type walker struct {
	pkg  *types.Package
	info *types.Info
	al   *aliases
	eff  *effects
	rec  *declRecord // receives uses, imports and quals; nil for none
	seen map[string]bool
	// funcLits are the local variables that hold a func literal of the
	// syntax walked and are never assigned otherwise: calling one runs
	// code the walk has seen.
	funcLits map[*types.Var]bool
	// lits is what the bodies of the func literals walked may do: a
	// literal may outlive the code (f = func() {...}) and be called by a
	// later cell.
	lits *effects
}

func newWalker(pkg *types.Package, info *types.Info, al *aliases, rec *declRecord) *walker {
	return &walker{pkg: pkg, info: info, al: al, eff: newEffects(), rec: rec, seen: map[string]bool{},
		funcLits: map[*types.Var]bool{}, lits: newEffects()}
}

// walk adds the effects of nodes.
func (w *walker) walk(nodes ...ast.Node) {
	reassigned := map[*types.Var]bool{}
	for _, n := range nodes {
		ast.Inspect(n, func(n ast.Node) bool {
			w.noteFuncLits(n, reassigned)
			return true
		})
	}
	for v := range reassigned {
		delete(w.funcLits, v)
	}
	for _, n := range nodes {
		ast.Inspect(n, w.visit)
	}
}

// noteFuncLits notes the local variables n initialises with a func
// literal, and those it assigns otherwise.
func (w *walker) noteFuncLits(n ast.Node, reassigned map[*types.Var]bool) {
	note := func(lhs []ast.Expr, rhs []ast.Expr, define bool) {
		for i, l := range lhs {
			id, ok := ast.Unparen(l).(*ast.Ident)
			if !ok {
				continue
			}
			v, _ := w.info.Defs[id].(*types.Var)
			if v == nil {
				v, _ = w.info.Uses[id].(*types.Var)
				define = false
			}
			if v == nil || v.Parent() == w.pkg.Scope() {
				continue
			}
			if _, lit := ast.Unparen(at(rhs, i)).(*ast.FuncLit); lit && define && len(lhs) == len(rhs) {
				w.funcLits[v] = true
			} else {
				reassigned[v] = true
			}
		}
	}
	switch n := n.(type) {
	case *ast.AssignStmt:
		note(n.Lhs, n.Rhs, n.Tok == token.DEFINE)
	case *ast.ValueSpec:
		lhs := make([]ast.Expr, len(n.Names))
		for i, id := range n.Names {
			lhs[i] = id
		}
		note(lhs, n.Values, true)
	case *ast.UnaryExpr:
		if n.Op == token.AND {
			note([]ast.Expr{n.X}, nil, false)
		}
	}
}

func at(xs []ast.Expr, i int) ast.Expr {
	if i < len(xs) {
		return xs[i]
	}
	return nil
}

func (w *walker) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.Ident:
		w.ident(n)
	case *ast.SelectorExpr:
		w.selector(n)
	case *ast.AssignStmt:
		if n.Tok != token.DEFINE {
			for _, l := range n.Lhs {
				w.lvalue(l)
			}
		}
	case *ast.IncDecStmt:
		w.lvalue(n.X)
	case *ast.RangeStmt:
		if n.Tok == token.ASSIGN {
			for _, l := range []ast.Expr{n.Key, n.Value} {
				if l != nil {
					w.lvalue(l)
				}
			}
		}
		if _, ok := w.typeOf(n.X).Underlying().(*types.Signature); ok {
			w.callee(n.X, nil) // range over a function calls it
		}
	case *ast.UnaryExpr:
		switch n.Op {
		case token.AND:
			w.addr(n.X)
		case token.ARROW:
			w.eff.through.add(chanMem + w.al.key(w.typeOf(n.X)))
		}
	case *ast.SendStmt:
		w.eff.through.add(chanMem + w.al.key(w.typeOf(n.Chan)))
	case *ast.SliceExpr:
		if _, ok := w.typeOf(n.X).Underlying().(*types.Array); ok {
			w.addr(n.X) // slicing an array takes its address
		}
	case *ast.CallExpr:
		w.call(n)
	case *ast.FuncLit:
		sub := &walker{pkg: w.pkg, info: w.info, al: w.al, eff: newEffects(), rec: w.rec, seen: w.seen, funcLits: w.funcLits, lits: w.lits}
		ast.Inspect(n.Body, sub.visit)
		w.eff.union(sub.eff)
		w.lits.union(sub.eff)
		return false
	}
	return true
}

func (w *walker) typeOf(e ast.Expr) types.Type {
	if t := w.info.TypeOf(e); t != nil {
		return t
	}
	return types.Typ[types.Invalid]
}

// packageVar returns the package-level variable id denotes, or nil.
func (w *walker) packageVar(id *ast.Ident) *types.Var {
	o := w.info.Uses[id]
	if o == nil {
		o = w.info.Defs[id]
	}
	if v, ok := o.(*types.Var); ok && v.Pkg() == w.pkg && v.Parent() == w.pkg.Scope() {
		return v
	}
	return nil
}

// ident records a use of a package-level name or a package.
func (w *walker) ident(id *ast.Ident) {
	o := w.info.Uses[id]
	if o == nil || w.rec == nil {
		return
	}
	if pn, ok := o.(*types.PkgName); ok {
		w.use("import "+pn.Imported().Path(), func() {
			w.rec.imports = append(w.rec.imports, pn.Imported().Path())
			w.rec.quals = append(w.rec.quals, pn.Name())
		})
		return
	}
	if o.Pkg() == w.pkg && o.Parent() == w.pkg.Scope() {
		w.use(o.Name(), func() { w.rec.uses = append(w.rec.uses, o.Name()) })
	}
}

// use calls add the first time key is used.
func (w *walker) use(key string, add func()) {
	if !w.seen[key] {
		w.seen[key] = true
		add()
	}
}

// selector records the methods of the notebook selected, and the
// implicit &x of a pointer method selected on an addressable x.
func (w *walker) selector(s *ast.SelectorExpr) {
	sel := w.info.Selections[s]
	if sel == nil {
		return
	}
	m, ok := sel.Obj().(*types.Func)
	if !ok {
		return
	}
	if w.rec != nil && m.Pkg() == w.pkg && !types.IsInterface(sel.Recv()) {
		k := methodKey(m)
		w.use(k, func() { w.rec.uses = append(w.rec.uses, k) })
	}
	if sel.Kind() == types.MethodVal && pointerRecv(m) && !isPointer(sel.Recv()) && !types.IsInterface(sel.Recv()) {
		w.addr(s.X)
	}
}

func pointerRecv(m *types.Func) bool {
	r := m.Signature().Recv()
	return r != nil && isPointer(r.Type())
}

func isPointer(t types.Type) bool {
	_, ok := t.Underlying().(*types.Pointer)
	return ok
}

// lvalue records an assignment to e.
func (w *walker) lvalue(e ast.Expr) {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		if v := w.packageVar(e); v != nil {
			w.eff.writes[v.Name()] = true
		}
	case *ast.SelectorExpr:
		sel := w.info.Selections[e]
		switch {
		case sel == nil:
			// A variable of another package: not the notebook's.
		case sel.Indirect():
			w.through(fieldContainer(w.typeOf(e.X), sel.Index()))
		default:
			w.lvalue(e.X)
		}
	case *ast.IndexExpr:
		w.element(e.X)
	case *ast.StarExpr:
		if p, ok := w.typeOf(e.X).Underlying().(*types.Pointer); ok {
			w.through(p.Elem())
		} else {
			w.eff.through.top = true
		}
	default:
		w.eff.through.top = true
	}
}

// element records a write to an element of x (x[i] = ...).
func (w *walker) element(x ast.Expr) {
	switch t := w.typeOf(x).Underlying().(type) {
	case *types.Array:
		w.lvalue(x)
	case *types.Slice:
		w.throughKey(elemMem, t.Elem())
	case *types.Map:
		w.throughKey(mapMem, t)
	case *types.Pointer:
		if a, ok := t.Elem().Underlying().(*types.Array); ok {
			w.throughKey(elemMem, a.Elem())
			return
		}
		w.eff.through.top = true
	default:
		w.eff.through.top = true
	}
}

// through records a write to memory of type t reached through a
// pointer (wherever that memory is: a variable, a field, an element).
func (w *walker) through(t types.Type) { w.throughKey(anyMem, t) }

// throughKey records a write to memory of type t of a kind (see
// aliases).
func (w *walker) throughKey(kind string, t types.Type) {
	if t == nil || hasTypeParam(t) {
		w.eff.through.top = true
		return
	}
	w.eff.through.add(kind + w.al.key(t))
}

// fieldContainer returns the type of the struct that holds the field a
// selection with index path idx on a value of type t reaches, or nil.
func fieldContainer(t types.Type, idx []int) types.Type {
	for i, k := range idx {
		if p, ok := t.Underlying().(*types.Pointer); ok {
			t = p.Elem()
		}
		st, ok := t.Underlying().(*types.Struct)
		if !ok {
			return nil
		}
		if i == len(idx)-1 {
			return t
		}
		t = st.Field(k).Type()
	}
	return nil
}

// addr records that the address of e is taken.
func (w *walker) addr(e ast.Expr) {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		if v := w.packageVar(e); v != nil {
			w.eff.writes[v.Name()] = true
			w.eff.escapes[v.Name()] = true
		}
	case *ast.SelectorExpr:
		if sel := w.info.Selections[e]; sel != nil && !sel.Indirect() {
			w.addr(e.X)
		}
	case *ast.IndexExpr:
		if _, ok := w.typeOf(e.X).Underlying().(*types.Array); ok {
			w.addr(e.X)
		}
	}
}

// call records a call.
func (w *walker) call(c *ast.CallExpr) {
	fun := ast.Unparen(c.Fun)
	tv := w.info.Types[fun]
	switch {
	case tv.IsType():
		if len(c.Args) == 1 && isUnsafePointer(w.typeOf(c.Args[0])) {
			w.eff.through.top = true // memory reinterpreted: types tell nothing
		}
	case tv.IsBuiltin():
		w.builtin(fun, c.Args)
	default:
		w.callee(fun, c.Args)
	}
}

func isUnsafePointer(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Kind() == types.UnsafePointer
}

// callee records a call of fun with args.
func (w *walker) callee(fun ast.Expr, args []ast.Expr) {
	switch f := fun.(type) {
	case *ast.IndexExpr: // an instantiation: f[T](...)
		fun = f.X
	case *ast.IndexListExpr:
		fun = f.X
	case *ast.FuncLit:
		return // walked where it is
	}
	var obj types.Object
	var recv ast.Expr
	switch f := ast.Unparen(fun).(type) {
	case *ast.Ident:
		obj = w.info.Uses[f]
	case *ast.SelectorExpr:
		obj = w.info.Uses[f.Sel]
		if sel := w.info.Selections[f]; sel != nil {
			if types.IsInterface(sel.Recv()) {
				obj = nil // an interface method: any method
			}
			recv = f.X
		}
	}
	switch o := obj.(type) {
	case *types.Func:
		if o.Pkg() == w.pkg {
			w.eff.calls[methodKey(o.Origin())] = true
			return
		}
		if recv != nil {
			args = append([]ast.Expr{recv}, args...)
		}
		w.external(o, args)
		return
	case *types.Var:
		if w.funcLits[o] {
			return // a func literal walked where it is defined
		}
	}
	w.eff.dynamic = true
	w.external(nil, args)
}

// external records a call of code outside the notebook (a function of
// another package, or an unknown func value): it may write any memory
// its arguments reach and call any method of the notebook's types they
// hold (fmt calls String), except that the fmt print functions only read
// their arguments. Func literals and funcs of the notebook passed as
// arguments are walked where they are, or recorded as called.
func (w *walker) external(f *types.Func, args []ast.Expr) {
	readOnly := f != nil && f.Pkg() != nil && f.Pkg().Path() == "fmt" && printFunc[f.Name()]
	for i, a := range args {
		switch a := ast.Unparen(a).(type) {
		case *ast.FuncLit:
			continue
		case *ast.Ident:
			if g, ok := w.info.Uses[a].(*types.Func); ok && g.Pkg() == w.pkg {
				w.eff.calls[g.Name()] = true
				continue
			}
		}
		t := w.typeOf(a)
		if !readOnly || i == 0 && f.Name()[0] == 'F' {
			w.eff.through.union(w.al.reach(t))
		}
		ms := w.al.methods(t, w.pkg)
		for _, m := range ms.names {
			w.eff.calls[m] = true
		}
		w.eff.dynamic = w.eff.dynamic || ms.top
	}
}

// printFunc are the fmt functions that only read their arguments (the
// Fprint ones write to their first).
var printFunc = map[string]bool{"Print": true, "Println": true, "Printf": true, "Sprint": true, "Sprintln": true,
	"Sprintf": true, "Errorf": true, "Fprint": true, "Fprintln": true, "Fprintf": true}

// builtin records a call of a builtin that writes memory.
func (w *walker) builtin(fun ast.Expr, args []ast.Expr) {
	id, ok := fun.(*ast.Ident)
	if !ok || len(args) == 0 {
		return
	}
	switch id.Name {
	case "append", "copy", "clear":
		w.element(args[0])
	case "delete":
		w.throughKey(mapMem, w.typeOf(args[0]))
	case "close":
		w.throughKey(chanMem, w.typeOf(args[0]))
	}
}

// hasTypeParam reports whether t is or holds a type parameter.
func hasTypeParam(t types.Type) bool {
	switch t := t.(type) {
	case *types.TypeParam:
		return true
	case *types.Named:
		args := t.TypeArgs()
		for i := range args.Len() {
			if hasTypeParam(args.At(i)) {
				return true
			}
		}
	case *types.Pointer:
		return hasTypeParam(t.Elem())
	case *types.Slice:
		return hasTypeParam(t.Elem())
	case *types.Array:
		return hasTypeParam(t.Elem())
	case *types.Map:
		return hasTypeParam(t.Key()) || hasTypeParam(t.Elem())
	case *types.Chan:
		return hasTypeParam(t.Elem())
	}
	return false
}

// declRecords makes the records of a stored declaration's names.
func declRecords(decl ast.Decl, d cell.Decl, info *types.Info, pkg *types.Package, al *aliases) map[string]*declRecord {
	out := map[string]*declRecord{}
	add := func(key string, nodes ...ast.Node) {
		r := &declRecord{kind: d.Kind, source: d.Source}
		w := newWalker(pkg, info, al, r)
		w.walk(nodes...)
		r.eff = w.eff
		out[key] = r
	}
	switch decl := decl.(type) {
	case *ast.FuncDecl:
		key := decl.Name.Name
		if decl.Recv != nil && len(decl.Recv.List) > 0 {
			key = cell.ReceiverBase(decl.Recv.List[0].Type) + "." + key
		}
		if key != "_" {
			add(key, decl)
		}
	case *ast.GenDecl:
		for _, s := range decl.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				add(s.Name.Name, s)
			case *ast.ValueSpec:
				for _, id := range s.Names {
					if id.Name != "_" {
						add(id.Name, s)
					}
				}
			}
		}
	}
	return out
}

// itemRecords makes the records of the declarations of a cell's items.
func itemRecords(items []cell.Item, info *types.Info, pkg *types.Package, al *aliases) map[string]*declRecord {
	out := map[string]*declRecord{}
	for _, it := range items {
		if it.Syntax == nil {
			continue
		}
		byName := map[string]cell.Decl{}
		for _, d := range it.Decls {
			byName[d.Name] = d
		}
		for _, decl := range it.Syntax.Decls {
			for k, r := range declRecords(decl, cell.Decl{}, info, pkg, al) {
				if d, ok := byName[k]; ok {
					r.kind, r.source = d.Kind, d.Source
					out[k] = r
				}
			}
		}
		for _, s := range it.Syntax.Stmts {
			gd, ok := cell.DefineAsVar(s)
			if !ok {
				continue
			}
			for k, r := range declRecords(gd, cell.Decl{Kind: cell.VarDecl}, info, pkg, al) {
				if dk, ok := byName[k]; ok {
					r.source = dk.Source
					out[k] = r
				}
			}
		}
	}
	return out
}
