package cell

import (
	"go/ast"
	"go/parser"
	"sort"
	"strings"
)

// Store is the declaration store: the imports, types, funcs, methods,
// consts and vars of the successful cells so far, a later definition
// replacing an earlier one. The native magics generate programs from it.
//
// Keys: an import is keyed by its path (so import str "strings" and a later
// import "strings" replace each other); every other declaration by its
// name, whatever its kind, since Go does not let a package declare a var x
// and a func x together ("T.M" for methods, which cannot clash with other
// names).
//
// A declaration of several names (var a, b = f(), a := f() stored as
// var a, b = f(), a const group) is kept once. When a later cell redefines
// one of its names, that name is replaced by _ in the kept Source (var _,
// b = f()), so that the initialiser still runs once and the other names
// keep being declared; when every name has been redefined, the declaration
// is dropped.
//
// A Store is not safe for concurrent use.
type Store struct {
	version uint64 // counts the calls of Add that changed the store
	// entries are in first-definition order, nil where a declaration was
	// dropped (compacted once they are many, so that Add costs what the
	// declaration does, not what the store holds).
	entries []*entry
	live    int               // entries that are not nil
	byKey   map[string]*entry // live names (see key)
	byID    map[declID]*entry // entries by their declaration's identity
}

// declID identifies one declaration: the names it declares share it.
type declID struct {
	kind   DeclKind
	cell   int
	line   int
	source string
}

func idOf(d Decl) declID { return declID{d.Kind, d.Cell, d.Line, d.Source} }

// entry is one stored declaration with the names it still declares.
type entry struct {
	decl  Decl     // Name is the first of names
	id    declID   // the identity it was added with (Source before any blanking)
	names []string // live names, in declaration order
	slot  int      // index in Store.entries
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{byKey: make(map[string]*entry), byID: make(map[declID]*entry)}
}

func key(kind DeclKind, name string) string {
	if kind == ImportDecl {
		return "import " + name
	}
	return name
}

// Add stores decls, in order. Decls that share Kind, Cell, Line and Source
// (the names of one declaration), whether given in one call or in several,
// are stored as one declaration. A decl
// replaces any earlier declaration of the same key; the replacement takes
// the place of the declaration it replaced when that one is gone
// completely, so Decls keeps first-definition order. Add costs what decls
// hold, not what the store holds.
func (s *Store) Add(decls ...Decl) {
	if s.byKey == nil {
		s.byKey = make(map[string]*entry)
		s.byID = make(map[declID]*entry)
	}
	for _, d := range decls {
		s.add(d)
	}
	if len(decls) > 0 {
		s.version++
	}
	if len(s.entries) > 2*s.live+16 {
		s.compact()
	}
}

// Version counts the changes made to the store (and to the store it was
// cloned from, before the clone): a store whose version did not change
// holds the same declarations.
func (s *Store) Version() uint64 { return s.version }

// add stores one name of a declaration.
func (s *Store) add(d Decl) {
	k := key(d.Kind, d.Name)
	id := idOf(d)
	e, known := s.byID[id]
	old, defined := s.byKey[k]
	if known && old == e {
		return // already stored
	}
	slot := -1
	if defined {
		i := old.slot
		if s.remove(old, d.Name) {
			slot = i
		}
	}
	if known {
		e.names = append(e.names, d.Name)
	} else {
		e = &entry{decl: d, id: id, names: []string{d.Name}, slot: slot}
		s.byID[id] = e
		if slot < 0 {
			e.slot = len(s.entries)
			s.entries = append(s.entries, e)
		} else {
			s.entries[slot] = e
		}
		s.live++
	}
	s.byKey[k] = e
}

// remove takes name out of e, blanking it in e's Source. It reports
// whether e is now empty (and dropped).
func (s *Store) remove(e *entry, name string) bool {
	for i, n := range e.names {
		if n == name {
			e.names = append(e.names[:i:i], e.names[i+1:]...)
			break
		}
	}
	if len(e.names) == 0 {
		s.entries[e.slot] = nil
		s.live--
		delete(s.byID, e.id)
		return true
	}
	e.decl.Source = blankName(e.decl.Source, name)
	e.decl.Name = e.names[0]
	return false
}

// compact removes dropped entries.
func (s *Store) compact() {
	out := s.entries[:0]
	for _, e := range s.entries {
		if e != nil {
			e.slot = len(out)
			out = append(out, e)
		}
	}
	clear(s.entries[len(out):])
	s.entries = out
}

// blankName replaces the declared identifier name by _ in a const or var
// declaration's source, padding with spaces to keep columns.
func blankName(src, name string) string {
	pt, err := ParseText(Declaration, src, parser.SkipObjectResolution)
	if err != nil || len(pt.File.Decls) != 1 {
		return src
	}
	gd, ok := pt.File.Decls[0].(*ast.GenDecl)
	if !ok {
		return src
	}
	for _, spec := range gd.Specs {
		vs, ok := spec.(*ast.ValueSpec)
		if !ok {
			continue
		}
		for _, id := range vs.Names {
			if id.Name == name {
				off := pt.Offset(id.Pos())
				return src[:off] + "_" + strings.Repeat(" ", len(name)-1) + src[off+len(name):]
			}
		}
	}
	return src
}

// Decls returns the stored declarations in first-definition order, one per
// declaration: a declaration of several names appears once, with Name set
// to the first name it still declares.
func (s *Store) Decls() []Decl {
	out := make([]Decl, 0, s.live)
	for _, e := range s.entries {
		if e != nil {
			out = append(out, e.decl)
		}
	}
	return out
}

// Lookup returns the declaration that declares name: a type, func, const
// or var name, "T.M" for a method, or an import path. The returned Decl's
// Name is name.
func (s *Store) Lookup(name string) (Decl, bool) {
	e, ok := s.byKey[name]
	if !ok {
		e, ok = s.byKey[key(ImportDecl, name)]
		if !ok {
			return Decl{}, false
		}
	}
	d := e.decl
	d.Name = name
	return d, true
}

// Names returns the names of the stored types, funcs, consts and vars,
// sorted (not imports or methods): what a cell can refer to.
func (s *Store) Names() []string {
	var names []string
	for _, e := range s.entries {
		if e == nil || e.decl.Kind == ImportDecl || e.decl.Kind == MethodDecl {
			continue
		}
		names = append(names, e.names...)
	}
	sort.Strings(names)
	return names
}

// Len returns the number of stored declarations.
func (s *Store) Len() int { return s.live }

// Clone returns a copy of the store that can change independently.
func (s *Store) Clone() *Store {
	c := NewStore()
	c.version = s.version
	copies := make(map[*entry]*entry, s.live)
	for _, e := range s.entries {
		if e == nil {
			continue
		}
		ne := &entry{decl: e.decl, id: e.id, names: append([]string(nil), e.names...), slot: len(c.entries)}
		copies[e] = ne
		c.entries = append(c.entries, ne)
	}
	c.live = len(c.entries)
	for k, e := range s.byKey {
		c.byKey[k] = copies[e]
	}
	for id, e := range s.byID {
		c.byID[id] = copies[e]
	}
	return c
}
