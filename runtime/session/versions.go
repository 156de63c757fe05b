package session

import (
	"fmt"
	"go/ast"
	"go/token"
	"reflect"

	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/check"
)

// Versions of the variables' values. Each variable has a counter that a
// cell bumps when it may have changed the variable's value; an encoding
// made while the counter had a value is still the variable's value (the
// workspace reuses it, see native.ValueVersion). A cell may change a
// variable when:
//   - it mentions it (a read counts, conservatively);
//   - it mentions a variable of reference type (slice, map, pointer,
//     interface, func, channel) and the variable is of reference type
//     too, or had its address taken: they may share memory;
//   - it uses a function or method of the notebook, which may change
//     anything;
//   - it ran compiled and gave the value back.

// changed bumps the versions of the variables that items (the Go items of
// one segment of a cell, checked as prog) may have changed.
func (s *Session) changed(prog *check.Program, items []cell.Item) {
	if prog == nil {
		s.changedAll()
		return
	}
	for _, name := range addressTaken(items) {
		s.addrTaken[name] = true
	}
	all, refs := false, false
	for _, name := range prog.Uses(items) {
		d, ok := s.lookup(name)
		switch {
		case !ok:
		case d.Kind == cell.FuncDecl || d.Kind == cell.MethodDecl:
			all = true
		case d.Kind == cell.VarDecl:
			s.bump(name)
			refs = refs || s.isRef(name)
		}
	}
	if all || refs {
		for _, d := range s.storeDecls() {
			if d.Kind == cell.VarDecl && (all || s.isRef(d.Name) || s.addrTaken[d.Name]) {
				s.bump(d.Name)
			}
		}
	}
}

// changedAll bumps every variable's version.
func (s *Session) changedAll() {
	for _, d := range s.storeDecls() {
		if d.Kind == cell.VarDecl {
			s.bump(d.Name)
		}
	}
}

func (s *Session) bump(name string) { s.versions[name]++ }

func (s *Session) lookup(name string) (cell.Decl, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.Lookup(name)
}

func (s *Session) storeDecls() []cell.Decl {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.Decls()
}

// isRef reports whether the variable name holds a reference (see
// refType), as the interpreter holds it.
func (s *Session) isRef(name string) bool {
	vr, ok := s.eval.(valueReader)
	if !ok {
		return true
	}
	v, ok := vr.Value(name)
	return !ok || refType(v.Type(), map[reflect.Type]bool{})
}

// refType reports whether values of t may share memory with other
// values: they hold a slice, map, pointer, interface, func or channel.
func refType(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return refType(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if refType(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// addressTaken lists the identifiers whose address items take with &,
// conservatively (any &x, &x.f, &x[i], x[:] of an array).
func addressTaken(items []cell.Item) []string {
	var out []string
	for _, it := range items {
		if it.Syntax == nil {
			continue
		}
		visit := func(n ast.Node) bool {
			var x ast.Expr
			switch n := n.(type) {
			case *ast.UnaryExpr:
				if n.Op == token.AND {
					x = n.X
				}
			case *ast.SliceExpr:
				x = n.X
			}
			for x != nil {
				switch e := x.(type) {
				case *ast.Ident:
					out = append(out, e.Name)
					x = nil
				case *ast.SelectorExpr:
					x = e.X
				case *ast.IndexExpr:
					x = e.X
				case *ast.ParenExpr:
					x = e.X
				default:
					x = nil
				}
			}
			return true
		}
		for _, d := range it.Syntax.Decls {
			ast.Inspect(d, visit)
		}
		for _, st := range it.Syntax.Stmts {
			ast.Inspect(st, visit)
		}
	}
	return out
}

// valueVersion is the workspace's ValueVersion: the variable's
// declaration and its version, unless goroutines that cells started run
// (they may change any value at any time).
func (s *Session) valueVersion(name string) (string, bool) {
	d, ok := s.lookup(name)
	if !ok || d.Kind != cell.VarDecl || s.goroutinesRun() {
		return "", false
	}
	return fmt.Sprintf("%d:%d:%d", d.Cell, d.Line, s.versions[name]), true
}
