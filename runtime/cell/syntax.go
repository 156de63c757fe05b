package cell

import (
	"go/ast"
	"go/parser"
	"go/token"
)

// Syntax is the parsed Go of an item, made once by Parse and carried with
// the item so that nothing downstream parses the item's source again.
// Positions read as cell lines and columns through Fset.Position.
type Syntax struct {
	Fset *token.FileSet
	// Decls are the declarations of an Import or Declaration item (one
	// import; one or more adjacent declarations).
	Decls []ast.Decl
	// Stmts are the top-level statements of a Statement item, in order,
	// or the one expression statement of an Expression item.
	Stmts []ast.Stmt
}

// The wrappers around an item's text that make it a Go file: the text
// starts on the wrapper's second line.
const (
	declPrefix = "package p\n"
	stmtPrefix = "package p; func _() {\n"
	stmtSuffix = "\n}"
)

// parseWrapped parses prefix+text+suffix as a file of fset and, when it
// parses, makes its positions read as lines of the cell from line on.
func parseWrapped(fset *token.FileSet, prefix, text, suffix string, line int, mode parser.Mode) (*ast.File, error) {
	f, err := parser.ParseFile(fset, "", prefix+text+suffix, mode|parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	fset.File(f.Pos()).AddLineInfo(len(prefix), "", line)
	return f, nil
}

// ParseDecl parses the Source of a stored declaration (one top-level
// declaration, such as the var x = f() a top-level x := f() is stored
// as) into fset, its positions reading as line d.Line of cell d.Cell.
func ParseDecl(fset *token.FileSet, d Decl) (ast.Decl, error) {
	f, err := parseWrapped(fset, declPrefix, d.Source, "", max(d.Line, 1), parser.ParseComments)
	if err != nil {
		return nil, err
	}
	if len(f.Decls) != 1 {
		return nil, &SyntaxError{Line: d.Line, Col: 1, Msg: "expected one declaration"}
	}
	return f.Decls[0], nil
}

// DefineAsVar returns the package-level form of a top-level x, y := f()
// statement, var x, y = f(), built from the statement's own nodes (so
// that positions stay those of the cell), and ok false for any other
// statement.
func DefineAsVar(s ast.Stmt) (*ast.GenDecl, bool) {
	as, ok := s.(*ast.AssignStmt)
	if !ok || as.Tok != token.DEFINE {
		return nil, false
	}
	spec := &ast.ValueSpec{Values: as.Rhs}
	for _, e := range as.Lhs {
		id, ok := e.(*ast.Ident)
		if !ok {
			return nil, false
		}
		spec.Names = append(spec.Names, id)
	}
	return &ast.GenDecl{TokPos: as.Pos(), Tok: token.VAR, Specs: []ast.Spec{spec}}, true
}

// Text is the text of an item parsed as a Go file, for tools that edit
// an item's text (the interpreter's rewrites): positions of File read as
// offsets, spans and lines of the text.
type Text struct {
	Fset *token.FileSet
	File *ast.File
	text string
	base int // offset of the text in the file
}

// ParseText parses text, the source of an item of kind k, wrapped as
// Parse wraps it: imports and declarations at package level, statements
// and expressions in a function's body. mode is go/parser's; object
// resolution is not skipped unless mode says so.
func ParseText(k Kind, text string, mode parser.Mode) (*Text, error) {
	prefix, suffix := declPrefix, ""
	if k != Import && k != Declaration {
		prefix, suffix = stmtPrefix, stmtSuffix
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", prefix+text+suffix, mode)
	if err != nil {
		return nil, err
	}
	return &Text{Fset: fset, File: f, text: text, base: len(prefix)}, nil
}

// Offset returns the offset of p in the text.
func (t *Text) Offset(p token.Pos) int { return t.Fset.Position(p).Offset - t.base }

// Source returns the text of n.
func (t *Text) Source(n ast.Node) string { return t.text[t.Offset(n.Pos()):t.Offset(n.End())] }

// LineCol returns the 1-based line and column of p in the text.
func (t *Text) LineCol(p token.Pos) (line, col int) {
	pos := t.Fset.Position(p)
	return pos.Line - 1, pos.Column // the wrapper's first line is its own
}

// DeclaredNames lists the package-level names d declares, in order; a
// method declares none (its name belongs to its type).
func DeclaredNames(d ast.Decl) []string {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil {
			return []string{d.Name.Name}
		}
	case *ast.GenDecl:
		var out []string
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				out = append(out, s.Name.Name)
			case *ast.ValueSpec:
				for _, id := range s.Names {
					out = append(out, id.Name)
				}
			}
		}
		return out
	}
	return nil
}

// StoreKeys lists the keys under which the store keeps what d declares
// (see Decl.Name): its names, and "T.M" for a method M of T.
func StoreKeys(d ast.Decl) []string {
	if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil && len(fd.Recv.List) > 0 {
		return []string{ReceiverBase(fd.Recv.List[0].Type) + "." + fd.Name.Name}
	}
	return DeclaredNames(d)
}
