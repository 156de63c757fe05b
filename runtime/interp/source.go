package interp

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strconv"
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

// analysis is what the interpreter learns from parsing an item, and the
// item's syntax tree with its rewrites.
type analysis struct {
	pt   *cell.Text // the item's source, parsed
	file *ast.File  // pt.File
	t    *tree      // the rewrites made on file
	pkgs []string
	expr ast.Expr // Expression items: the expression
	// stmts are the top-level statements of a Statement or Expression
	// item as parsed (the rewrites may change the tree's list).
	stmts []ast.Stmt
	// suspect is the first range statement whose expression may be an
	// integer (see suspectRange), nil if none.
	suspect *ast.RangeStmt
}

// isBuiltin reports whether name is one of Go's predeclared functions,
// which cannot be used as values.
func isBuiltin(name string) bool {
	_, ok := types.Universe.Lookup(name).(*types.Builtin)
	return ok
}

// topLevel returns the top-level statements of a Statement or Expression
// item parsed by cell.ParseText.
func topLevel(f *ast.File) []ast.Stmt { return f.Decls[0].(*ast.FuncDecl).Body.List }

// setTopLevel replaces them.
func setTopLevel(f *ast.File, list []ast.Stmt) { f.Decls[0].(*ast.FuncDecl).Body.List = list }

// analyze parses the source of an item of the given kind, once for all
// that the interpreter does with it, and rewrites its go statements (and,
// in Statement items, its defer statements) on the tree. It returns nil
// when the source does not parse: yaegi then reports the error itself.
// seq numbers the temporaries of rewritten go statements.
func analyze(kind cell.Kind, src string, isConst func(string) bool, seq *int) *analysis {
	pt, err := cell.ParseText(kind, src, 0)
	if err != nil {
		return nil
	}
	f := pt.File
	a := &analysis{pt: pt, file: f, t: newTree(kind, src, pt)}
	if kind != cell.Import && kind != cell.Declaration {
		a.stmts = append([]ast.Stmt(nil), topLevel(f)...)
		if len(a.stmts) == 1 && kind == cell.Expression {
			if es, ok := a.stmts[0].(*ast.ExprStmt); ok {
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
	a.suspect = suspectRange(f)
	a.rewriteGo(isConst, seq)
	if kind == cell.Statement {
		a.rewriteDefer(isConst, seq)
	}
	return a
}

// analyze is analyze with the interpreter's constants and temporaries.
func (i *Interp) analyze(kind cell.Kind, src string) *analysis {
	i.parses++
	return analyze(kind, src, i.isConst, &i.seq)
}

// rewriteDefer makes the defer statements of a Statement item that belong
// to the cell itself (not to a function literal) register their call with
// the interpreter, which makes it when the cell ends (see Interp.EndCell),
// as a function's deferred calls run when it returns. The function value
// and the arguments are evaluated at the defer statement, as Go does.
// Without this, yaegi would keep the call in its main frame and make it
// again at the end of every later evaluation.
func (a *analysis) rewriteDefer(isConst func(string) bool, seq *int) {
	ast.Inspect(a.file.Decls[0].(*ast.FuncDecl).Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false // its defers are its own
		case *ast.DeferStmt:
			*seq++
			a.t.replace(n, a.t.bindCall(n.Call, fmt.Sprintf("_pnbD%d", *seq), isConst, func(made ast.Expr) []ast.Stmt {
				c := made.(*ast.CallExpr)
				if id, ok := c.Fun.(*ast.Ident); ok && isBuiltin(id.Name) {
					// _pnbrt.Defer(func() { made }): a builtin is no value
					return []ast.Stmt{&ast.ExprStmt{X: call(rtFunc("Defer"), funcLit(&ast.ExprStmt{X: made}))}}
				}
				// _pnbrt.DeferCall(f, args...): the values go to the
				// kernel as they are now (a closure yaegi hands to native
				// code would read a loop's temporaries when it runs).
				name := "DeferCall"
				if c.Ellipsis.IsValid() {
					name = "DeferCallSpread"
				}
				return []ast.Stmt{&ast.ExprStmt{X: call(rtFunc(name), append([]ast.Expr{c.Fun}, c.Args...)...)}}
			}))
			return false
		}
		return true
	})
}

// rtFunc returns the selector of the runtime package's function name.
func rtFunc(name string) ast.Expr {
	return &ast.SelectorExpr{X: ast.NewIdent(rtAlias), Sel: ast.NewIdent(name)}
}

// funcLit returns func() { body }.
func funcLit(body ...ast.Stmt) *ast.FuncLit {
	return &ast.FuncLit{Type: &ast.FuncType{Params: &ast.FieldList{}}, Body: &ast.BlockStmt{List: body}}
}

// bindCall returns the replacement of a defer or go statement making
// call: the call's function value (unless it is a builtin) and its
// non-constant arguments are evaluated into temporaries named after tmp
// where the statement stands, as Go evaluates them, and the statements
// wrap returns make the call with the temporaries later.
func (t *tree) bindCall(call *ast.CallExpr, tmp string, isConst func(string) bool, wrap func(call ast.Expr) []ast.Stmt) *ast.BlockStmt {
	var names, values, args []ast.Expr
	fun := ast.Expr(ast.NewIdent(tmp + "f"))
	if id, ok := call.Fun.(*ast.Ident); ok && id.Obj == nil && isBuiltin(id.Name) {
		fun = ast.NewIdent(id.Name)
	} else {
		names, values = append(names, ast.NewIdent(tmp+"f")), append(values, t.hole(call.Fun))
	}
	for k, arg := range call.Args {
		if constant(arg, isConst) {
			args = append(args, t.hole(arg))
			continue
		}
		name := fmt.Sprintf("%sa%d", tmp, k)
		names, values, args = append(names, ast.NewIdent(name)), append(values, t.hole(arg)), append(args, ast.NewIdent(name))
	}
	made := &ast.CallExpr{Fun: fun, Args: args}
	if call.Ellipsis.IsValid() {
		made.Ellipsis = 1 // any valid position: go/printer writes "..."
	}
	var list []ast.Stmt
	if len(names) > 0 {
		list = append(list, &ast.AssignStmt{Lhs: names, Tok: token.DEFINE, Rhs: values})
	}
	return &ast.BlockStmt{List: append(list, wrap(made)...)}
}

// goStart comes before every go statement of a cell:
// _pnbrt.GoStart().
func goStart() ast.Stmt { return &ast.ExprStmt{X: call(rtFunc("GoStart"))} }

// goRecover starts every goroutine a cell starts, so that its panic is
// reported instead of ending the kernel; it marks the goroutine as
// running in the background (interrupt.go), and, with goStart, counts the
// goroutines that run (Interp.Goroutines):
//
//	_pnbGID := _pnbrt.GoBegin()
//	defer func() { _pnbrt.GoEnd(_pnbGID); if r := recover(); r != nil { _pnbrt.GoPanic(r) } }()
func goRecover() []ast.Stmt {
	id := func() ast.Expr { return ast.NewIdent("_pnbGID") }
	r := func() ast.Expr { return ast.NewIdent("r") }
	recovered := &ast.IfStmt{
		Init: &ast.AssignStmt{Lhs: []ast.Expr{r()}, Tok: token.DEFINE, Rhs: []ast.Expr{call(ast.NewIdent("recover"))}},
		Cond: &ast.BinaryExpr{X: r(), Op: token.NEQ, Y: ast.NewIdent("nil")},
		Body: &ast.BlockStmt{List: []ast.Stmt{&ast.ExprStmt{X: call(rtFunc("GoPanic"), r())}}},
	}
	return []ast.Stmt{
		&ast.AssignStmt{Lhs: []ast.Expr{id()}, Tok: token.DEFINE, Rhs: []ast.Expr{call(rtFunc("GoBegin"))}},
		&ast.DeferStmt{Call: call(funcLit(&ast.ExprStmt{X: call(rtFunc("GoEnd"), id())}, recovered))},
	}
}

// call returns fun(args).
func call(fun ast.Expr, args ...ast.Expr) *ast.CallExpr { return &ast.CallExpr{Fun: fun, Args: args} }

// rewriteGo makes every go statement of the item run its call under a
// deferred recover. A function literal gets the deferred call put at the
// start of its body; any other call has its function value and arguments
// evaluated into temporaries at the go statement, as Go does, and the
// call made in a function literal.
func (a *analysis) rewriteGo(isConst func(string) bool, seq *int) {
	t := a.t
	ast.Inspect(a.file, func(n ast.Node) bool {
		g, ok := n.(*ast.GoStmt)
		if !ok {
			return true
		}
		if lit, ok := g.Call.Fun.(*ast.FuncLit); ok {
			body := lit.Body
			body.List = t.insert(body.List, 0, t.off(body.Lbrace)+1, goRecover()...)
			// { _pnbrt.GoStart(); go func() { recover; ... }() }
			t.replace(g, &ast.BlockStmt{List: []ast.Stmt{goStart(), t.holeStmt(g)}})
			return true
		}
		*seq++
		t.replace(g, t.bindCall(g.Call, fmt.Sprintf("_pnbG%d", *seq), isConst, func(made ast.Expr) []ast.Stmt {
			// _pnbrt.GoStart(); go func() { recover; call }()
			lit := funcLit(append(goRecover(), &ast.ExprStmt{X: made})...)
			return []ast.Stmt{goStart(), &ast.GoStmt{Call: &ast.CallExpr{Fun: lit}}}
		}))
		return false
	})
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
				add(cell.MethodDecl, cell.ReceiverBase(d.Recv.List[0].Type)+"."+d.Name.Name)
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
	if len(a.stmts) != 1 {
		return nil
	}
	as, ok := a.stmts[0].(*ast.AssignStmt)
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
