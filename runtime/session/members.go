package session

import (
	"go/ast"
	"go/parser"
	"go/token"

	"github.com/perfnb/perfnb/runtime/cell"
)

// varMembers lists the fields and methods of the variable x declared in a
// cell, when its type is a type declared in a cell: fields from the
// struct's declaration (embedded ones included), methods from the store.
// The type is read from the declaration, statically: var x T, var x =
// T{...}, &T{...}, T(v), new(T), or f(...) where f is declared in a cell
// with a first result of such a type. Call with s.mu held.
func (s *Session) varMembers(x string) []candidate {
	d, ok := s.store.Lookup(x)
	if !ok || d.Kind != cell.VarDecl {
		return nil
	}
	typ := s.varType(x, d.Source)
	if typ == "" {
		return nil
	}
	var out []candidate
	seen := map[string]bool{}
	for _, f := range s.structFields(typ) {
		if !seen[f] {
			seen[f] = true
			out = append(out, candidate{f, "instance"})
		}
	}
	for _, m := range s.storeMethods(typ) {
		if !seen[m] {
			seen[m] = true
			out = append(out, candidate{m, "function"})
		}
	}
	return out
}

// parseDecls parses the source of a declaration from the store.
func parseDecls(src string) []ast.Decl {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+src, 0)
	if err != nil {
		return nil
	}
	return f.Decls
}

// varType returns the name of the cell-declared type of variable x,
// declared by src, or "".
func (s *Session) varType(x, src string) string {
	for _, decl := range parseDecls(src) {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for k, n := range vs.Names {
				if n.Name != x {
					continue
				}
				if vs.Type != nil {
					return s.declaredType(typeName(vs.Type))
				}
				if k < len(vs.Values) {
					return s.exprType(vs.Values[k])
				} else if len(vs.Values) == 1 {
					return s.exprType(vs.Values[0]) // v, err := f()
				}
			}
		}
	}
	return ""
}

// exprType returns the cell-declared type of e's value, where that can be
// seen without evaluating it, or "".
func (s *Session) exprType(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return s.exprType(e.X)
	case *ast.CompositeLit:
		return s.declaredType(typeName(e.Type))
	case *ast.UnaryExpr:
		if e.Op == token.AND {
			return s.exprType(e.X)
		}
	case *ast.CallExpr:
		id, ok := e.Fun.(*ast.Ident)
		if !ok {
			return ""
		}
		if id.Name == "new" && len(e.Args) == 1 {
			return s.declaredType(typeName(e.Args[0]))
		}
		d, ok := s.store.Lookup(id.Name)
		switch {
		case !ok:
		case d.Kind == cell.TypeDecl:
			return id.Name // a conversion
		case d.Kind == cell.FuncDecl:
			for _, fd := range parseDecls(d.Source) {
				if f, ok := fd.(*ast.FuncDecl); ok && f.Name.Name == id.Name && f.Type.Results != nil && len(f.Type.Results.List) > 0 {
					return s.declaredType(typeName(f.Type.Results.List[0].Type))
				}
			}
		}
	}
	return ""
}

// declaredType returns name if it names a type declared in a cell.
func (s *Session) declaredType(name string) string {
	if d, ok := s.store.Lookup(name); ok && d.Kind == cell.TypeDecl {
		return name
	}
	return ""
}

// typeName returns the name of T or *T, or "".
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return typeName(e.X)
	case *ast.ParenExpr:
		return typeName(e.X)
	}
	return ""
}

// structFields lists the fields of the cell-declared struct type typ, with
// those of embedded cell-declared structs (and the embedded names).
func (s *Session) structFields(typ string) []string {
	var out []string
	var walk func(typ string, depth int)
	walk = func(typ string, depth int) {
		d, ok := s.store.Lookup(typ)
		if !ok || d.Kind != cell.TypeDecl || depth > 5 {
			return
		}
		for _, decl := range parseDecls(d.Source) {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, spec := range g.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if ts.Name.Name != typ || !ok {
					continue
				}
				for _, f := range st.Fields.List {
					if len(f.Names) == 0 {
						if n := typeName(f.Type); n != "" {
							out = append(out, n)
							walk(n, depth+1)
							out = append(out, s.storeMethods(n)...)
						}
						continue
					}
					for _, n := range f.Names {
						out = append(out, n.Name)
					}
				}
			}
		}
	}
	walk(typ, 0)
	return out
}
