package check

import (
	"go/ast"
	"go/token"
	"go/types"

	"github.com/perfnb/perfnb/runtime/cell"
)

// Changes is what running a cell may have changed among the notebook's
// package-level variables.
type Changes struct {
	// All says that the cell may have changed any variable.
	All bool
	// Vars are, when All is not set, the variables the cell may have
	// changed, by name.
	Vars map[string]bool
}

// Has reports whether the variable name may have changed.
func (c Changes) Has(name string) bool { return c.All || c.Vars[name] }

// MayChange returns the package-level variables that running the cell's
// items (all of them, or the first ones, up to a failure) may have
// changed. It is conservative: a variable it leaves out keeps its value,
// as far as Go's semantics go, whatever the cell does. It includes
//
//   - the variables the cell declares, and those it assigns, increments
//     or takes the address of (x = ..., x.f = ..., x[i] = ... on an array,
//     x++, &x, x[:] on an array, a pointer-method call x.M());
//   - the same for the funcs and methods of the notebook the cell calls,
//     transitively (each stored declaration's record, made when it was
//     checked); a call the analysis cannot name (a func value, an
//     interface method) may run any func or method of the notebook;
//   - every variable that may share memory with what the cell writes
//     through a reference (a slice element, a map entry, a pointee, a
//     channel; what code of other packages may write through the
//     arguments it is given, except the fmt print functions): those whose
//     type reaches a reference to memory of the type written, a variable
//     whose address any cell took counting as reachable through a pointer
//     to its type, and an interface, func or unsafe.Pointer reaching
//     memory of every type.
//
// What it cannot see: goroutines started by earlier cells that still
// run, and values written by other means than the cell's code (a
// debugger, a magic that sets variables).
func (p *Program) MayChange() Changes {
	if p.changes == nil {
		ch := p.mayChange()
		p.changes = &ch
	}
	return *p.changes
}

func (p *Program) mayChange() (ch Changes) {
	if p.eff == nil {
		return Changes{Vars: map[string]bool{}}
	}
	defer func() {
		if recover() != nil {
			ch = Changes{All: true}
		}
	}()
	eff := newEffects()
	eff.union(p.eff)
	p.closure(eff)
	ch.Vars = map[string]bool{}
	for n := range eff.writes {
		ch.Vars[n] = true
	}
	for _, it := range p.items {
		for _, d := range it.Decls {
			if d.Kind == cell.VarDecl {
				ch.Vars[d.Name] = true
			}
		}
	}
	if eff.through.empty() {
		return ch
	}
	for _, n := range p.variables() {
		v, ok := p.Pkg.Scope().Lookup(n).(*types.Var)
		if !ok || ch.Vars[n] {
			continue
		}
		reach := p.al.reach(v.Type())
		if p.c.escaped[n] || eff.escapes[n] {
			reach.union(p.al.mem(v.Type()))
		}
		if reach.hit(eff.through) {
			ch.Vars[n] = true
		}
	}
	return ch
}

// closure adds to eff the effects of the funcs and methods it calls,
// transitively; a dynamic call adds those of every func and method.
func (p *Program) closure(eff *effects) {
	done := map[string]bool{}
	for {
		var next []string
		for k := range eff.calls {
			if !done[k] {
				next = append(next, k)
			}
		}
		if len(next) == 0 {
			break
		}
		for _, k := range next {
			done[k] = true
			if r := p.recordOf(k); r != nil {
				eff.union(r.eff)
			}
		}
	}
	if eff.dynamic {
		eff.union(p.summary())
	}
}

// recordOf returns the record of a declaration of the cell or the store.
func (p *Program) recordOf(key string) *declRecord {
	if r := p.records[key]; r != nil {
		return r
	}
	return p.c.record(key)
}

// summary returns what any code of the notebook that a call may reach
// may do: its funcs and methods, the initialisers of its variables, and
// the func literals of its cells (f = func() {...}).
func (p *Program) summary() *effects {
	s := newEffects()
	if bs := p.c.current(); bs != nil {
		if bs.summary == nil {
			bs.summary = newEffects()
			for _, r := range bs.decls {
				bs.summary.union(r.eff)
			}
		}
		s.union(bs.summary)
	}
	for _, r := range p.records {
		s.union(r.eff)
	}
	s.union(p.c.lits)
	if p.c.pending != nil {
		s.union(p.c.pending.lits)
	}
	s.union(p.lits)
	s.dynamic = false
	return s
}

// variables lists the notebook's package-level variables: stored, the
// cell's, and those given with SetVar.
func (p *Program) variables() []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string, r *declRecord) {
		if !seen[n] && (r == nil || r.kind == cell.VarDecl) {
			seen[n] = true
			out = append(out, n)
		}
	}
	if bs := p.c.current(); bs != nil {
		for n, r := range bs.decls {
			add(n, r)
		}
	}
	for n, r := range p.records {
		add(n, r)
	}
	for n := range p.c.vars {
		add(n, nil)
	}
	return out
}

// cellEffects returns what running the cell's items does directly: its
// statements, the initialisers of its variables and its init funcs, and
// the methods showing its value calls (String).
func cellEffects(items []cell.Item, info *types.Info, pkg *types.Package, al *aliases) (eff, lits *effects) {
	w := newWalker(pkg, info, al, nil)
	var nodes []ast.Node
	for _, it := range items {
		if it.Syntax == nil {
			continue
		}
		for _, d := range it.Syntax.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok == token.VAR {
					nodes = append(nodes, d)
				}
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name == "init" && d.Body != nil {
					nodes = append(nodes, d.Body)
				}
			}
		}
		for _, s := range it.Syntax.Stmts {
			nodes = append(nodes, s)
			if e, ok := s.(*ast.ExprStmt); ok && it.Kind == cell.Expression && !isTuple(w.typeOf(e.X)) {
				ms := al.methods(w.typeOf(e.X), pkg)
				for _, m := range ms.names {
					w.eff.calls[m] = true
				}
				w.eff.dynamic = w.eff.dynamic || ms.top
			}
		}
	}
	w.walk(nodes...)
	return w.eff, w.lits
}

// isTuple reports whether t is the type of a call with no result or
// several, whose value a cell does not show.
func isTuple(t types.Type) bool {
	_, ok := t.(*types.Tuple)
	return ok
}

// aliases answers, from types alone, which memory a value may reach, for
// a type-based alias analysis: memory is told apart by the type of what
// it holds and how it is reached (two slices of int may share their
// elements; a slice of int and a map never do, nor a slice of int and an
// int field of a struct). The keys of a typeSet are a kind and a type
// (see key):
//
//   - anyMem: memory of the type, wherever it is (a variable, a field,
//     an element): what a pointer to the type may write;
//   - elemMem: array elements of the type (a slice's): what indexing a
//     slice may write, and what a pointer to the type may point into;
//   - ptrTo: reached by a pointer to the type, which may point into an
//     array (&xs[i]);
//   - mapMem, chanMem: a map's entries, a channel's buffer.
type aliases struct {
	keys    map[types.Type]string
	mems    map[types.Type]typeSet
	reaches map[types.Type]typeSet
	meths   map[types.Type]methodSet
}

// methodSet lists methods of the notebook by store key; top stands for
// every method.
type methodSet struct {
	names []string
	top   bool
}

func newAliases() *aliases {
	return &aliases{keys: map[types.Type]string{}, mems: map[types.Type]typeSet{},
		reaches: map[types.Type]typeSet{}, meths: map[types.Type]methodSet{}}
}

// key names the memory that holds values of type t: by its underlying
// type, so that named types of one structure are one (a pointer
// conversion may give the same memory either type).
func (a *aliases) key(t types.Type) string {
	if k, ok := a.keys[t]; ok {
		return k
	}
	k := types.TypeString(t.Underlying(), func(p *types.Package) string { return p.Path() })
	a.keys[t] = k
	return k
}

// The kinds of memory keys (see aliases).
const (
	anyMem  = "m:"
	elemMem = "e:"
	ptrTo   = "p:"
	mapMem  = "k:"
	chanMem = "c:"
)

// hit reports whether a variable that may reach the memory of reach may
// see a write to the memory of writes.
func (reach typeSet) hit(writes typeSet) bool {
	if reach.empty() || writes.empty() {
		return false
	}
	if reach.top || writes.top {
		return true
	}
	for k := range writes.keys {
		switch k[:2] {
		case elemMem:
			if reach.keys[k] || reach.keys[ptrTo+k[2:]] {
				return true
			}
		case ptrTo:
		default:
			if reach.keys[k] {
				return true
			}
		}
	}
	return false
}

// mem returns the memory a value of type t holds in place: its own, and
// that of its fields and array elements.
func (a *aliases) mem(t types.Type) typeSet {
	if s, ok := a.mems[t]; ok {
		return s
	}
	var s typeSet
	s.add(anyMem + a.key(t))
	switch u := t.Underlying().(type) {
	case *types.Struct:
		for i := range u.NumFields() {
			s.union(a.mem(u.Field(i).Type()))
		}
	case *types.Array:
		s.add(elemMem + a.key(u.Elem()))
		s.union(a.mem(u.Elem()))
	}
	a.mems[t] = s
	return s
}

// reach returns the memory a value of type t may reach through
// references (not its own).
func (a *aliases) reach(t types.Type) typeSet {
	if s, ok := a.reaches[t]; ok {
		return s
	}
	var s typeSet
	a.walkReach(t, map[types.Type]bool{}, &s)
	a.reaches[t] = s
	return s
}

func (a *aliases) walkReach(t types.Type, seen map[types.Type]bool, s *typeSet) {
	if seen[t] || s.top {
		return
	}
	seen[t] = true
	switch u := t.Underlying().(type) {
	case *types.Pointer:
		s.add(ptrTo + a.key(u.Elem()))
		s.union(a.mem(u.Elem()))
		a.walkReach(u.Elem(), seen, s)
	case *types.Slice:
		s.add(elemMem + a.key(u.Elem()))
		s.union(a.mem(u.Elem()))
		a.walkReach(u.Elem(), seen, s)
	case *types.Map:
		s.add(mapMem + a.key(u))
		a.walkReach(u.Key(), seen, s)
		a.walkReach(u.Elem(), seen, s)
	case *types.Chan:
		s.add(chanMem + a.key(u))
		a.walkReach(u.Elem(), seen, s)
	case *types.Struct:
		for i := range u.NumFields() {
			a.walkReach(u.Field(i).Type(), seen, s)
		}
	case *types.Array:
		a.walkReach(u.Elem(), seen, s)
	case *types.Basic:
		s.top = u.Kind() == types.UnsafePointer
	default: // interface, func, type parameter
		s.top = true
	}
}

// methods returns the methods of pkg's types that a value of type t
// holds or reaches, which code given the value may call (fmt calls
// String); an interface or func reaches every method.
func (a *aliases) methods(t types.Type, pkg *types.Package) methodSet {
	if ms, ok := a.meths[t]; ok {
		return ms
	}
	var ms methodSet
	a.walkMethods(t, pkg, map[types.Type]bool{}, &ms)
	a.meths[t] = ms
	return ms
}

func (a *aliases) walkMethods(t types.Type, pkg *types.Package, seen map[types.Type]bool, ms *methodSet) {
	if seen[t] || ms.top {
		return
	}
	seen[t] = true
	if n, ok := types.Unalias(t).(*types.Named); ok && n.Obj().Pkg() == pkg {
		for i := range n.NumMethods() {
			ms.names = append(ms.names, methodKey(n.Method(i)))
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Pointer:
		a.walkMethods(u.Elem(), pkg, seen, ms)
	case *types.Slice:
		a.walkMethods(u.Elem(), pkg, seen, ms)
	case *types.Array:
		a.walkMethods(u.Elem(), pkg, seen, ms)
	case *types.Chan:
		a.walkMethods(u.Elem(), pkg, seen, ms)
	case *types.Map:
		a.walkMethods(u.Key(), pkg, seen, ms)
		a.walkMethods(u.Elem(), pkg, seen, ms)
	case *types.Struct:
		for i := range u.NumFields() {
			a.walkMethods(u.Field(i).Type(), pkg, seen, ms)
		}
	case *types.Basic:
	default:
		ms.top = true
	}
}
