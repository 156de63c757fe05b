package interp

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/traefik/yaegi/stdlib"

	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/display"
	"github.com/perfnb/perfnb/runtime/stdpkg"
)

// Internal packages the interpreter registers with yaegi, and the names
// under which rewritten code imports them.
const (
	rtPath    = "perfnb/rt"
	rtAlias   = "_pnbrt"
	varsPath  = "perfnb/vars"
	varsAlias = "_pnbvars"
)

// stdPackages maps a package name to the import path imported on first
// use of that name: the packages of runtime/stdpkg's table that yaegi
// can load, plus the display package. It is computed once and never
// modified.
var stdPackages = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for name, p := range stdpkg.All() {
		if _, ok := stdlib.Symbols[p+"/"+name]; ok {
			m[name] = p
		}
	}
	m["display"] = display.ImportPath
	m["unsafe"] = "unsafe" // loaded from yaegi's stdlib/unsafe
	return m
})

// stdPackageName returns the package name of a standard-library import
// path ("math/rand/v2" is "rand"), or the last element of the path.
func stdPackageName(importPath string) string {
	if importPath == display.ImportPath {
		return "display"
	}
	return stdpkg.Name(importPath)
}

// analysis is what the interpreter learns from parsing an item.
type analysis struct {
	pt     *cell.Text // the item's source, parsed
	file   *ast.File  // pt.File
	pkgs   []string
	expr   ast.Expr // Expression items: the expression
	source string   // the source with go statements rewritten
}

// isBuiltin reports whether name is one of Go's predeclared functions,
// which cannot be used as values.
func isBuiltin(name string) bool {
	_, ok := types.Universe.Lookup(name).(*types.Builtin)
	return ok
}

// analyze parses the source of an item of the given kind. It returns nil
// when the source does not parse: yaegi then reports the error itself.
// seq numbers the temporaries of rewritten go statements.
func analyze(kind cell.Kind, src string, isConst func(string) bool, seq *int) *analysis {
	pt, err := cell.ParseText(kind, src, 0)
	if err != nil {
		return nil
	}
	f := pt.File
	a := &analysis{pt: pt, file: f, source: src}
	if kind == cell.Expression {
		if body := f.Decls[0].(*ast.FuncDecl).Body; len(body.List) == 1 {
			if es, ok := body.List[0].(*ast.ExprStmt); ok {
				a.expr = es.X
			}
		}
	}
	seen := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil && !seen[id.Name] {
				seen[id.Name] = true
				a.pkgs = append(a.pkgs, id.Name)
			}
		}
		return true
	})
	a.source = a.rewriteGo(src, isConst, seq)
	if kind == cell.Statement && hasDefer(f) {
		a.source = rewriteDefer(a.source, isConst, seq)
	}
	return a
}

// hasDefer reports whether f has a defer statement outside function
// literals.
func hasDefer(f *ast.File) bool {
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.DeferStmt:
			found = true
		}
		return !found
	})
	return found
}

// rewriteDefer makes the defer statements of a Statement item's src that
// belong to the cell itself (not to a function literal) register their
// call with the interpreter, which makes it when the cell ends (see
// Interp.EndCell), as a function's deferred calls run when it returns.
// The function value and the arguments are evaluated at the defer
// statement, as Go does. Without this, yaegi would keep the call in its
// main frame and make it again at the end of every later evaluation.
func rewriteDefer(src string, isConst func(string) bool, seq *int) string {
	pt, err := cell.ParseText(cell.Statement, src, 0)
	if err != nil {
		return src
	}
	f, off, text := pt.File, pt.Offset, pt.Source
	var edits []edit
	ast.Inspect(f.Decls[0].(*ast.FuncDecl).Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false // its defers are its own
		case *ast.DeferStmt:
			*seq++
			tmp := fmt.Sprintf("_pnbD%d", *seq)
			deferred := bindCall(n, n.Call, tmp, text, isConst, func(call string) string {
				return fmt.Sprintf("%s.Defer(func() { %s })", rtAlias, call)
			})
			edits = append(edits, edit{off(n.Pos()), off(n.End()), deferred})
			return false
		}
		return true
	})
	return applyEdits(src, edits)
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// applyEdits makes the edits, which do not overlap, in src.
func applyEdits(src string, edits []edit) string {
	sort.Slice(edits, func(x, y int) bool { return edits[x].start > edits[y].start })
	for _, e := range edits {
		src = src[:e.start] + e.text + src[e.end:]
	}
	return src
}

// bindCall returns the replacement of stmt, a defer or go statement making
// call: the call's function value (unless it is a builtin) and its
// non-constant arguments are evaluated into temporaries named after tmp
// where the statement stands, as Go evaluates them, and wrap makes the
// call with the temporaries later. The replacement spans as many lines as
// stmt, so that line numbers after it do not move.
func bindCall(stmt ast.Node, call *ast.CallExpr, tmp string, text func(ast.Node) string, isConst func(string) bool, wrap func(call string) string) string {
	var names, values, args []string
	fun := text(call.Fun)
	if id, ok := call.Fun.(*ast.Ident); !ok || id.Obj != nil || !isBuiltin(id.Name) {
		names, values = append(names, tmp+"f"), append(values, fun)
		fun = tmp + "f"
	}
	for k, arg := range call.Args {
		if constant(arg, isConst) {
			args = append(args, text(arg))
			continue
		}
		name := fmt.Sprintf("%sa%d", tmp, k)
		names, values, args = append(names, name), append(values, text(arg)), append(args, name)
	}
	made := fun + "(" + strings.Join(args, ", ")
	if call.Ellipsis.IsValid() {
		made += "..."
	}
	made += ")"
	var b strings.Builder
	b.WriteString("{ ")
	if len(names) > 0 {
		fmt.Fprintf(&b, "%s := %s; ", strings.Join(names, ", "), strings.Join(values, ", "))
	}
	b.WriteString(wrap(made))
	b.WriteString(strings.Repeat("\n", max(0, strings.Count(text(stmt), "\n")-strings.Count(b.String(), "\n"))))
	b.WriteString(" }")
	return b.String()
}

// recoverText is deferred at the start of every goroutine a cell starts, so
// that its panic is reported instead of ending the kernel; it marks the
// goroutine as running in the background (interrupt.go), and, with
// startText before the go statement, counts the goroutines that run
// (Interp.Goroutines).
const recoverText = `_pnbGID := ` + rtAlias + `.GoBegin(); defer func() { ` + rtAlias + `.GoEnd(_pnbGID); if r := recover(); r != nil { ` + rtAlias + `.GoPanic(r) } }(); `

// startText comes before every go statement of a cell.
const startText = rtAlias + `.GoStart(); `

// rewriteGo makes every go statement of src run its call under a deferred
// recover. A function literal gets the deferred call inserted at the start
// of its body; any other call has its function value and arguments
// evaluated into temporaries at the go statement, as Go does, and the call
// made in a function literal. Line numbers are kept: the edits add no line
// breaks.
func (a *analysis) rewriteGo(src string, isConst func(string) bool, seq *int) string {
	var edits []edit
	off := a.pt.Offset
	text := func(n ast.Node) string { return src[off(n.Pos()):off(n.End())] }
	ast.Inspect(a.file, func(n ast.Node) bool {
		g, ok := n.(*ast.GoStmt)
		if !ok {
			return true
		}
		if lit, ok := g.Call.Fun.(*ast.FuncLit); ok {
			at := off(lit.Body.Lbrace) + 1
			edits = append(edits, edit{off(g.Pos()), off(g.Pos()), startText}, edit{at, at, " " + recoverText})
			return true
		}
		*seq++
		tmp := fmt.Sprintf("_pnbG%d", *seq)
		started := bindCall(g, g.Call, tmp, text, isConst, func(call string) string {
			return fmt.Sprintf("%sgo func() { %s%s }()", startText, recoverText, call)
		})
		edits = append(edits, edit{off(g.Pos()), off(g.End()), started})
		return false
	})
	return applyEdits(src, edits)
}

// constant reports whether e is a constant expression whose evaluation
// time does not matter (and whose untyped-ness must be kept).
func constant(e ast.Expr, isConst func(string) bool) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		switch e.Name {
		case "true", "false", "nil", "iota":
			return e.Obj == nil
		}
		if e.Obj != nil {
			return e.Obj.Kind == ast.Con
		}
		return isConst(e.Name)
	case *ast.ParenExpr:
		return constant(e.X, isConst)
	case *ast.UnaryExpr:
		return constant(e.X, isConst)
	case *ast.BinaryExpr:
		return constant(e.X, isConst) && constant(e.Y, isConst)
	}
	return false
}

// deriveDecls lists what an Import or Declaration item declares, for items
// that come without Decls. Each name of a grouped declaration gets the
// whole group as its source (a const group's iota needs it).
func deriveDecls(a *analysis, src string, count, line int) []cell.Decl {
	if a == nil {
		return nil
	}
	var out []cell.Decl
	add := func(kind cell.DeclKind, name string) {
		out = append(out, cell.Decl{Kind: kind, Name: name, Source: src, Cell: count, Line: line})
	}
	for _, d := range a.file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				add(cell.FuncDecl, d.Name.Name)
			} else if len(d.Recv.List) == 1 {
				add(cell.MethodDecl, recvName(d.Recv.List[0].Type)+"."+d.Name.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.ImportSpec:
					p, _ := strconv.Unquote(s.Path.Value)
					add(cell.ImportDecl, p)
				case *ast.TypeSpec:
					add(cell.TypeDecl, s.Name.Name)
				case *ast.ValueSpec:
					kind := cell.VarDecl
					if d.Tok == token.CONST {
						kind = cell.ConstDecl
					}
					for _, n := range s.Names {
						if n.Name != "_" {
							add(kind, n.Name)
						}
					}
				}
			}
		}
	}
	return out
}

// defineDecls lists the variables a top-level statement x, y := f()
// declares, stored as var x, y = f().
func defineDecls(a *analysis, src string, count, line int) []cell.Decl {
	if a == nil {
		return nil
	}
	body := a.file.Decls[0].(*ast.FuncDecl).Body
	if len(body.List) != 1 {
		return nil
	}
	as, ok := body.List[0].(*ast.AssignStmt)
	if !ok || as.Tok != token.DEFINE {
		return nil
	}
	off := a.pt.Offset
	decl := "var " + src[off(as.Pos()):off(as.TokPos)] + "= " + src[off(as.Rhs[0].Pos()):off(as.End())]
	var out []cell.Decl
	for _, l := range as.Lhs {
		if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
			out = append(out, cell.Decl{Kind: cell.VarDecl, Name: id.Name, Source: decl, Cell: count, Line: line})
		}
	}
	return out
}

// recvName is the type name of a method receiver: T for T, *T and T[K].
func recvName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvName(e.X)
	case *ast.IndexExpr:
		return recvName(e.X)
	case *ast.IndexListExpr:
		return recvName(e.X)
	case *ast.ParenExpr:
		return recvName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// importSpecs lists the imports of an Import item: local name (alias, or
// "" for the package's own name) and path.
func importSpecs(a *analysis) [][2]string {
	var out [][2]string
	for _, s := range a.file.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		name := ""
		if s.Name != nil {
			name = s.Name.Name
		}
		out = append(out, [2]string{name, p})
	}
	return out
}

// pureSelector reports whether e is an identifier or a chain of selectors
// on one, which can be evaluated without side effects.
func pureSelector(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return true
	case *ast.SelectorExpr:
		return pureSelector(e.X)
	case *ast.ParenExpr:
		return pureSelector(e.X)
	}
	return false
}

// AutoImport returns the import path that a package name used without an
// import (strings.ToUpper) refers to, as Eval imports it on first use.
func AutoImport(name string) (path string, ok bool) {
	path, ok = stdPackages()[name]
	return path, ok
}
