package check

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"github.com/perfnb/perfnb/runtime/cell"
)

// base is the notebook's package as the checker keeps it between cells:
// the objects of the store's declarations, checked once, and what an
// incremental check needs to know of them.
type base struct {
	pkg     *types.Package
	store   *cell.Store // the store it follows, at version
	version uint64
	// dirty says that the base no longer follows any store: the next
	// cell gets a full check, which makes a new base.
	dirty bool

	imports importSet              // the stored imports in force
	decls   map[string]*declRecord // the stored declarations in force, by store key
	broken  map[string]string      // stored declarations that no longer compile, by name, with why
	// ghosts are the names that checks of cells that did not run (or
	// did not keep them) left in pkg's scope, which has no delete.
	ghosts map[string]types.Object
	// quals are the names stored declarations use as package names
	// (imported or imported on first use).
	quals map[string]bool
	// embedded are the types of the package that stored types embed.
	embedded map[string]bool
	anchor   token.Pos // a position in the file scope of the last check
	// files counts the file scopes the checks of cells added to pkg's
	// scope, which keeps them: a base grown with many cells is replaced.
	files int

	alias   *aliases
	summary *effects // what any func or method may do, once needed
}

func newBase(pkg *types.Package, store *cell.Store, anchor token.Pos, imports importSet) *base {
	return &base{pkg: pkg, store: store, version: store.Version(), imports: imports, anchor: anchor, files: 1,
		decls: map[string]*declRecord{}, broken: map[string]string{}, ghosts: map[string]types.Object{},
		quals: map[string]bool{}, embedded: map[string]bool{}, alias: newAliases()}
}

// declRecord is what the checker keeps of a stored declaration, from the
// check that checked it.
type declRecord struct {
	kind   cell.DeclKind
	source string
	// uses are the package-level names it refers to, by store key (f,
	// T, T.M for a method it calls or selects); imports the paths of
	// the packages it names, and quals the names it names them by.
	uses    []string
	imports []string
	quals   []string
	// eff is what running it may do to the notebook's variables: for a
	// func or method, a call; for a var, its initialiser.
	eff *effects
}

// record installs the records of a declaration's names.
func (bs *base) record(recs map[string]*declRecord) {
	for k, r := range recs {
		bs.decls[k] = r
		delete(bs.broken, k)
		for _, q := range r.quals {
			bs.quals[q] = true
		}
		if r.kind == cell.TypeDecl {
			bs.noteEmbedded(k)
		}
		if bs.summary != nil {
			bs.summary.union(r.eff)
		}
	}
}

// noteEmbedded notes the types of the package that type name embeds.
func (bs *base) noteEmbedded(name string) {
	tn, ok := bs.pkg.Scope().Lookup(name).(*types.TypeName)
	if !ok {
		return
	}
	st, ok := tn.Type().Underlying().(*types.Struct)
	if !ok {
		return
	}
	for i := range st.NumFields() {
		f := st.Field(i)
		if !f.Embedded() {
			continue
		}
		t := f.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := types.Unalias(t).(*types.Named); ok && n.Obj().Pkg() == bs.pkg {
			bs.embedded[n.Obj().Name()] = true
		}
	}
}

// setVar declares a variable given with SetVar in the base's scope; one
// that replaces a declared name, or a given one of another type, needs a
// full check (a scope cannot replace a name).
func (bs *base) setVar(name string, t types.Type) {
	switch o := bs.pkg.Scope().Lookup(name).(type) {
	case nil:
		bs.pkg.Scope().Insert(types.NewVar(token.NoPos, bs.pkg, name, t))
	case *types.Var:
		if o.Pos().IsValid() || !types.Identical(o.Type(), t) {
			bs.dirty = true
		}
	default:
		bs.dirty = true
	}
}

// importSet is a list of imports in which a later import of a local name
// replaces an earlier one, as a cell's import replaces the store's.
type importSet struct {
	imports []*ast.ImportSpec
	byName  map[string]int // local import name to its index in imports
}

// importSpec adds an import.
func (s *importSet) importSpec(spec *ast.ImportSpec) {
	name := importName(spec)
	if name == "_" || name == "." {
		s.imports = append(s.imports, spec)
		return
	}
	if i, ok := s.byName[name]; ok {
		s.imports[i] = spec
		return
	}
	if s.byName == nil {
		s.byName = map[string]int{}
	}
	s.byName[name] = len(s.imports)
	s.imports = append(s.imports, spec)
}

// clone returns a copy of s that changes independently.
func (s *importSet) clone() importSet {
	c := importSet{imports: append([]*ast.ImportSpec(nil), s.imports...), byName: make(map[string]int, len(s.byName))}
	for n, i := range s.byName {
		c.byName[n] = i
	}
	return c
}

// pending is what the checks of the running cell added to the base,
// until Commit says what the cell kept.
type pending struct {
	count int
	full  *base       // the base a full check made, which replaces the base
	decls []cell.Decl // the declarations of the items checked, in order
	// objs are the package-level names the checks inserted in the base's
	// scope; methods says that methods were added to earlier types.
	objs    map[string]types.Object
	methods bool
	records map[string]*declRecord
	escaped map[string]bool // variables whose address the items take
	lits    *effects        // what the func literals of the items may do
	anchor  token.Pos       // in the file scope of the last check
}

// pend returns the pending state of cell count, made when needed.
func (c *Checker) pend(count int) *pending {
	if c.pending == nil {
		c.pending = &pending{count: count, objs: map[string]types.Object{}, records: map[string]*declRecord{},
			escaped: map[string]bool{}, lits: newEffects()}
	}
	return c.pending
}

// add notes what the program of items that checked declares, and the
// variables whose address they take.
func (p *pending) add(prog *Program) {
	for _, it := range prog.items {
		for _, d := range it.Decls {
			d.Cell = p.count
			p.decls = append(p.decls, d)
		}
	}
	for k, r := range prog.records {
		p.records[k] = r
		for n := range r.eff.escapes {
			p.escaped[n] = true
		}
	}
	for n := range prog.eff.escapes {
		p.escaped[n] = true
	}
	p.lits.union(prog.lits)
	p.anchor = prog.anchor
}

// current returns the base the running cell is checked against: the one
// a full check of it made, or the checker's.
func (c *Checker) current() *base {
	if c.pending != nil && c.pending.full != nil {
		return c.pending.full
	}
	return c.base
}

// maxFiles is how many file scopes a base may hold, beyond twice its
// declarations, before a full check replaces it: the cost of the full
// check is spread over as many cells as the notebook has declarations.
const maxFiles = 256

// inSync reports whether the base follows store as it is, so that a cell
// can be checked against it incrementally.
func (c *Checker) inSync(store *cell.Store) bool {
	bs := c.base
	return bs != nil && !bs.dirty && bs.store == store && bs.version == store.Version() &&
		bs.files <= 2*len(bs.decls)+maxFiles
}

// abandon drops the pending state of a cell that was checked but never
// committed: the names its checks inserted are ghosts, unless the store
// changed meanwhile, which makes the base dirty.
func (c *Checker) abandon(store *cell.Store) {
	p := c.pending
	c.pending = nil
	if c.base == nil {
		return
	}
	if p.full != nil || p.methods || c.base.store != store || c.base.version != store.Version() {
		c.base.dirty = true
		return
	}
	for n, o := range p.objs {
		c.base.ghosts[n] = o
	}
}

// Commit tells the checker that the cell it checked last has ended and
// that added (its items' declarations that ran, as the session stores
// them, Cell set) were added to store: all of them, or, when the cell
// failed while it ran, those of the items that ran before. The base
// follows store from then on. A cell that added nothing commits nil.
// Declarations added to store without Commit (a restore) make the next
// check a full one.
func (c *Checker) Commit(store *cell.Store, added []cell.Decl) {
	p := c.pending
	c.pending = nil
	if p == nil {
		if len(added) > 0 && c.base != nil {
			c.base.dirty = true
		}
		return
	}
	kept, names := map[declName]bool{}, map[string]bool{}
	for _, d := range added {
		kept[nameOf(d)] = true
		names[d.Name] = true
	}
	all := len(added) == len(p.decls)
	for _, d := range p.decls {
		all = all && kept[nameOf(d)]
	}
	bs := c.base
	if p.full != nil && all {
		bs = p.full
		c.base = bs
	} else if p.full != nil {
		// The base the full check made has what did not run; the
		// earlier one has not what ran, if anything did.
		p.full, p.decls, p.anchor = nil, nil, token.NoPos
		added = nil
		if bs != nil && bs.version != store.Version() {
			bs.dirty = true
		}
	}
	if bs == nil {
		return
	}
	if !all {
		bs.dirty = bs.dirty || p.methods
		for n, o := range p.objs {
			if !names[n] {
				bs.ghosts[n] = o
			}
		}
	}
	c.install(bs, p, added)
	bs.store, bs.version = store, store.Version()
}

// install adds what the cell kept to bs.
func (c *Checker) install(bs *base, p *pending, added []cell.Decl) {
	recs := map[string]*declRecord{}
	for _, d := range added {
		if d.Kind == cell.ImportDecl {
			if g, ok := c.parse(d).decl.(*ast.GenDecl); ok {
				for _, s := range g.Specs {
					bs.imports.importSpec(s.(*ast.ImportSpec))
				}
			}
			continue
		}
		if r := p.records[d.Name]; r != nil {
			r.source = d.Source
			recs[d.Name] = r
		}
	}
	bs.record(recs)
	for n := range p.escaped {
		c.escaped[n] = true
	}
	c.lits.union(p.lits)
	if p.anchor.IsValid() {
		bs.anchor = p.anchor // its file scope has the cell's imports
	}
}

// declName identifies a declared name of a cell.
type declName struct {
	kind cell.DeclKind
	name string
}

func nameOf(d cell.Decl) declName { return declName{d.Kind, d.Name} }

// record returns the record of the stored declaration of key, from the
// running cell's checks or the base.
func (c *Checker) record(key string) *declRecord {
	if c.pending != nil {
		if r := c.pending.records[key]; r != nil {
			return r
		}
	}
	if bs := c.current(); bs != nil {
		return bs.decls[key]
	}
	return nil
}

// AddressTaken reports whether a cell or a stored declaration took the
// address of the package-level variable name (&x, x[:] on an array, a
// pointer-method call x.M()), so that a pointer may lead to it.
func (c *Checker) AddressTaken(name string) bool {
	return c.escaped[name] || c.pending != nil && c.pending.escaped[name]
}

// Refs returns, for the stored declaration of key (a type, func, var or
// const name, or T.M for a method), the package-level names it refers to
// (store keys, T.M for the methods it calls or selects) and the import
// paths of the packages it names, as recorded when it was checked, and
// whether the checker has a record of it.
func (c *Checker) Refs(key string) (names, imports []string, ok bool) {
	r := c.record(key)
	if r == nil {
		return nil, nil, false
	}
	return r.uses, r.imports, true
}

// methodKey is the store key of a method: T.M, T the receiver's base
// type name.
func methodKey(f *types.Func) string {
	recv := f.Signature().Recv()
	if recv == nil {
		return f.Name()
	}
	t := recv.Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := types.Unalias(t).(*types.Named); ok {
		return n.Origin().Obj().Name() + "." + f.Name()
	}
	return strings.TrimPrefix(t.String(), "main.") + "." + f.Name()
}
