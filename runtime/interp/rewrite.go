package interp

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
)

// This file holds the source rewrites that work around yaegi v0.16's
// departures from Go:
//
//   - range over an integer ("nil type" in yaegi) becomes a three-clause
//     loop over a hidden counter, when the range expression is recognisably
//     an integer;
//   - loop variables get Go 1.22's per-iteration semantics: the body of a
//     for ... range loop declaring k, v starts with k, v := k, v, and the
//     body of a three-clause loop that does not change its variable starts
//     with i := i (only for variables the body uses through a closure, a
//     pointer or a selector, the only ways the difference shows);
//   - unsafe.Offsetof of an unexported field, which yaegi cannot find in
//     its own struct types, is computed by the runtime package;
//   - every loop body ends with a check that lets an interrupt stop the
//     interrupted cell there, and no other goroutine (interrupt.go);
//   - runs of top-level statements that declare no cell-level names are
//     evaluated inside func() { ... }(), where yaegi compiles them as
//     ordinary function code (at its top level it mixes up the scopes of if
//     and for statements).
//
// The rewrites change the item's syntax tree (see print.go), which is
// printed once, with /*line*/ directives that keep every position of the
// cell.

// rewriter makes the rewrites above on the tree of one item.
type rewriter struct {
	a   *analysis
	t   *tree
	seq *int
	// intGlobal reports whether name is a cell-level variable or constant
	// (or pkg.Name) of integer type.
	intGlobal func(name string) bool
	// intResult returns the name of the predeclared integer type that the
	// cell-level func (or pkg.Func) name returns as its only result, or "".
	intResult func(name string) string
}

// rewrite makes the rewrites described above on the tree of an item of
// the given kind, whose first line is line of cell count. Runs of
// top-level statements are wrapped only in Statement items. It returns
// the cell lines of the runs wrapped in func literals.
func (a *analysis) rewrite(kind cell.Kind, count, line int, seq *int, intGlobal func(string) bool, intResult func(string) string) []lineRange {
	// Loops and the statements to wrap have braces (so do rewritten go
	// and defer statements).
	src := a.t.src
	braces := (strings.Contains(src, "{") || a.t.changed()) && (kind == cell.Statement || strings.Contains(src, "for"))
	if !braces && !strings.Contains(src, "Offsetof") {
		return nil
	}
	r := &rewriter{a: a, t: a.t, seq: seq, intGlobal: intGlobal, intResult: intResult}
	ast.Inspect(a.file, r.visit)
	if kind != cell.Statement {
		return nil
	}
	return r.wrapRuns(count, line)
}

func (r *rewriter) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.RangeStmt:
		r.rangeLoop(n)
		r.poll(n.Body)
	case *ast.ForStmt:
		r.forLoop(n)
		r.poll(n.Body)
	case *ast.CallExpr:
		r.offsetof(n)
	}
	return true
}

// pollStmt is the check that lets an interrupt stop the interrupted cell
// at the end of a loop body (interrupt.go):
// if *_pnbrt.Stop != 0 { _pnbrt.Poll() }.
func pollStmt() ast.Stmt {
	return &ast.IfStmt{
		Cond: &ast.BinaryExpr{X: &ast.StarExpr{X: rtFunc("Stop")}, Op: token.NEQ, Y: intLit(0)},
		Body: &ast.BlockStmt{List: []ast.Stmt{&ast.ExprStmt{X: call(rtFunc("Poll"))}}},
	}
}

// poll ends a loop's body with pollStmt. At the end, not the start: yaegi
// finds the position of a panic by the first node of its function that
// runs the same code, and a check before the body's own statements would
// take their place in tracebacks.
func (r *rewriter) poll(body *ast.BlockStmt) {
	if body == nil || !body.Lbrace.IsValid() {
		return
	}
	body.List = r.t.insert(body.List, len(body.List), r.t.off(body.Rbrace), pollStmt())
}

// rangeLoop rewrites a for ... range loop (see the file comment).
func (r *rewriter) rangeLoop(n *ast.RangeStmt) {
	if n.Tok != token.DEFINE && n.Key != nil {
		return
	}
	t := r.t
	var zero ast.Expr
	if n.Value == nil && !strings.Contains(r.a.pt.Source(n.X), "\n") {
		if r.intExpr(n.X, 0) {
			// 0*(x): evaluating x twice is harmless
			zero = &ast.BinaryExpr{X: intLit(0), Op: token.MUL, Y: &ast.ParenExpr{X: t.hole(n.X)}}
		} else if typ := r.intCall(n.X); typ != "" {
			zero = &ast.CallExpr{Fun: ast.NewIdent(typ), Args: []ast.Expr{intLit(0)}}
		}
	}
	if zero != nil {
		*r.seq++
		k, lim := fmt.Sprintf("_pnbK%d", *r.seq), fmt.Sprintf("_pnbN%d", *r.seq)
		if id, ok := n.Key.(*ast.Ident); ok && id.Name != "_" && uses(n.Body, id) {
			// key := k; _ = key
			n.Body.List = t.insert(n.Body.List, 0, t.off(n.Body.Lbrace)+1,
				define([]string{id.Name}, []string{k}),
				&ast.AssignStmt{Lhs: []ast.Expr{ast.NewIdent("_")}, Tok: token.ASSIGN, Rhs: []ast.Expr{ast.NewIdent(id.Name)}})
		}
		// for k, lim := zero, x; k < lim; k++ body
		t.replace(n, &ast.ForStmt{
			Init: &ast.AssignStmt{Lhs: idents(k, lim), Tok: token.DEFINE, Rhs: []ast.Expr{zero, t.hole(n.X)}},
			Cond: &ast.BinaryExpr{X: ast.NewIdent(k), Op: token.LSS, Y: ast.NewIdent(lim)},
			Post: &ast.IncDecStmt{X: ast.NewIdent(k), Tok: token.INC},
			Body: t.holeBlock(n.Body),
		})
		return
	}
	if n.Key == nil {
		return
	}
	var names []string
	for _, e := range []ast.Expr{n.Key, n.Value} {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" && uses(n.Body, id) && escapes(n.Body, id) {
			names = append(names, id.Name)
		}
	}
	r.copyVars(n.Body, names)
}

func intLit(v int) *ast.BasicLit { return &ast.BasicLit{Kind: token.INT, Value: strconv.Itoa(v)} }

func idents(names ...string) []ast.Expr {
	out := make([]ast.Expr, len(names))
	for k, n := range names {
		out[k] = ast.NewIdent(n)
	}
	return out
}

// define returns names := values.
func define(names, values []string) *ast.AssignStmt {
	return &ast.AssignStmt{Lhs: idents(names...), Tok: token.DEFINE, Rhs: idents(values...)}
}

// forLoop gives the variables declared by a three-clause loop's init
// statement a per-iteration copy, unless the body may change them.
func (r *rewriter) forLoop(n *ast.ForStmt) {
	init, ok := n.Init.(*ast.AssignStmt)
	if !ok || init.Tok != token.DEFINE {
		return
	}
	var names []string
	for _, e := range init.Lhs {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" && uses(n.Body, id) && escapes(n.Body, id) && !changes(n.Body, id) {
			names = append(names, id.Name)
		}
	}
	r.copyVars(n.Body, names)
}

// copyVars starts body with names := names.
func (r *rewriter) copyVars(body *ast.BlockStmt, names []string) {
	if len(names) == 0 {
		return
	}
	body.List = r.t.insert(body.List, 0, r.t.off(body.Lbrace)+1, define(names, names))
}

// offsetof rewrites unsafe.Offsetof(x.f) for an unexported field f as
// _pnbrt.Offsetof(x, "f").
func (r *rewriter) offsetof(n *ast.CallExpr) {
	fun, ok := n.Fun.(*ast.SelectorExpr)
	if !ok || fun.Sel.Name != "Offsetof" || len(n.Args) != 1 {
		return
	}
	if pkg, ok := fun.X.(*ast.Ident); !ok || pkg.Name != "unsafe" || pkg.Obj != nil {
		return
	}
	arg, ok := ast.Unparen(n.Args[0]).(*ast.SelectorExpr)
	if !ok || arg.Sel.IsExported() {
		return
	}
	r.t.replace(n, &ast.CallExpr{Fun: rtFunc("Offsetof"),
		Args: []ast.Expr{r.t.hole(arg.X), &ast.BasicLit{Kind: token.STRING, Value: strconv.Quote(arg.Sel.Name)}}})
}

// isIntType reports whether name is one of Go's predeclared integer
// types.
func isIntType(name string) bool {
	tn, ok := types.Universe.Lookup(name).(*types.TypeName)
	if !ok {
		return false
	}
	b, ok := tn.Type().(*types.Basic)
	return ok && b.Info()&types.IsInteger != 0
}

// intExpr reports whether e is recognisably an integer expression without
// side effects (evaluating it twice is harmless).
func (r *rewriter) intExpr(e ast.Expr, depth int) bool {
	if depth > 8 {
		return false
	}
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.INT || e.Kind == token.CHAR
	case *ast.ParenExpr:
		return r.intExpr(e.X, depth+1)
	case *ast.UnaryExpr:
		return (e.Op == token.ADD || e.Op == token.SUB || e.Op == token.XOR) && r.intExpr(e.X, depth+1)
	case *ast.BinaryExpr:
		switch e.Op {
		case token.SHL, token.SHR:
			return r.intExpr(e.X, depth+1) && r.pure(e.Y)
		case token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.AND, token.OR, token.XOR, token.AND_NOT:
			return (r.intExpr(e.X, depth+1) && r.pure(e.Y)) || (r.intExpr(e.Y, depth+1) && r.pure(e.X))
		}
	case *ast.CallExpr:
		id, ok := e.Fun.(*ast.Ident)
		if !ok || id.Obj != nil || len(e.Args) != 1 || !r.pure(e.Args[0]) {
			return false
		}
		return id.Name == "len" || id.Name == "cap" || isIntType(id.Name)
	case *ast.Ident:
		if e.Obj == nil {
			return r.intGlobal != nil && r.intGlobal(e.Name)
		}
		return r.intObject(e, depth)
	case *ast.SelectorExpr:
		if id, ok := e.X.(*ast.Ident); ok && id.Obj == nil && r.intGlobal != nil {
			return r.intGlobal(id.Name + "." + e.Sel.Name)
		}
	}
	return false
}

// intCall returns the integer type of a call of a cell-level func or of a
// package's func whose only result is of a predeclared integer type, or "".
func (r *rewriter) intCall(e ast.Expr) string {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok || r.intResult == nil {
		return ""
	}
	switch f := call.Fun.(type) {
	case *ast.Ident:
		if f.Obj == nil && !isBuiltin(f.Name) {
			return r.intResult(f.Name)
		}
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok && x.Obj == nil {
			return r.intResult(x.Name + "." + f.Sel.Name)
		}
	}
	return ""
}

// intObject reports whether the local variable or constant id is declared
// with an integer type or value.
func (r *rewriter) intObject(id *ast.Ident, depth int) bool {
	switch d := id.Obj.Decl.(type) {
	case *ast.AssignStmt:
		for k, l := range d.Lhs {
			if l, ok := l.(*ast.Ident); ok && l.Name == id.Name && len(d.Rhs) == len(d.Lhs) {
				return r.intExpr(d.Rhs[k], depth+1)
			}
		}
	case *ast.ValueSpec:
		if d.Type != nil {
			t, ok := d.Type.(*ast.Ident)
			return ok && t.Obj == nil && isIntType(t.Name)
		}
		for k, n := range d.Names {
			if n.Name == id.Name && k < len(d.Values) {
				return r.intExpr(d.Values[k], depth+1)
			}
		}
	case *ast.Field:
		t, ok := d.Type.(*ast.Ident)
		return ok && t.Obj == nil && isIntType(t.Name)
	}
	return false
}

// pure reports whether e has no calls other than conversions to integer
// types, len and cap, and no receive.
func (r *rewriter) pure(e ast.Expr) bool {
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			id, isID := n.Fun.(*ast.Ident)
			if !isID || id.Obj != nil || !(id.Name == "len" || id.Name == "cap" || isIntType(id.Name)) {
				ok = false
			}
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				ok = false
			}
		case *ast.FuncLit:
			ok = false
		}
		return ok
	})
	return ok
}

// uses reports whether body refers to the variable id declares.
func uses(body ast.Node, id *ast.Ident) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if x, ok := n.(*ast.Ident); ok && x != id && sameVar(x, id) {
			found = true
		}
		return !found
	})
	return found
}

func sameVar(x, id *ast.Ident) bool {
	if id.Obj != nil {
		return x.Obj == id.Obj
	}
	return x.Name == id.Name
}

// escapes reports whether body may keep a reference to an iteration's
// variable: it has a func literal, takes an address, or uses a selector
// on the variable (a method value or a pointer method).
func escapes(body ast.Node, id *ast.Ident) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			found = true
		case *ast.UnaryExpr:
			found = found || n.Op == token.AND
		case *ast.SelectorExpr:
			if x, ok := rootIdent(n); ok && sameVar(x, id) {
				found = true
			}
		}
		return !found
	})
	return found
}

// changes reports whether body may change the variable id declares: it
// assigns to it (or to a part of it), increments it, takes its address or
// calls a method on it.
func changes(body ast.Node, id *ast.Ident) bool {
	found := false
	is := func(e ast.Expr) bool {
		x, ok := rootIdent(e)
		return ok && sameVar(x, id)
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if is(l) {
					found = true
				}
			}
		case *ast.IncDecStmt:
			found = found || is(n.X)
		case *ast.UnaryExpr:
			found = found || (n.Op == token.AND && is(n.X))
		case *ast.RangeStmt:
			found = found || n.Tok == token.ASSIGN && ((n.Key != nil && is(n.Key)) || (n.Value != nil && is(n.Value)))
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && is(sel.X) {
				found = true
			}
		}
		return !found
	})
	return found
}

// rootIdent returns the variable at the root of a chain of selectors,
// indexes and parentheses.
func rootIdent(e ast.Expr) (*ast.Ident, bool) {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x, true
		case *ast.SelectorExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		default:
			return nil, false
		}
	}
}

// declares reports whether a top-level statement declares cell-level
// names.
func declares(s ast.Stmt) bool {
	switch s := s.(type) {
	case *ast.AssignStmt:
		return s.Tok == token.DEFINE
	case *ast.DeclStmt:
		return true
	case *ast.LabeledStmt:
		return declares(s.Stmt)
	}
	return false
}

// wrapRuns puts every run of top-level statements that declare no
// cell-level names, and have scopes (see hasScopes), inside
// func() { ... }(). A run that holds a top-level
// return is left alone (it must stay an error), and so is every run of an
// item where a goto, break or continue names a label outside its run.
// It returns the lines of the wrapped runs, those of cell count from
// line on.
func (r *rewriter) wrapRuns(count, line int) []lineRange {
	list := topLevel(r.a.file)
	// runs holds the index in list of each run's first and last statement.
	var runs [][2]int
	first := -1
	for k, s := range list {
		if _, empty := s.(*ast.EmptyStmt); empty {
			continue
		}
		if declares(s) {
			if first >= 0 {
				runs = append(runs, [2]int{first, lastStmt(list, first, k)})
			}
			first = -1
			continue
		}
		if first < 0 {
			first = k
		}
	}
	if first >= 0 {
		runs = append(runs, [2]int{first, lastStmt(list, first, len(list))})
	}
	for _, run := range runs {
		if !labelsWithin(stmtsOf(list, run)) {
			return nil
		}
	}
	var wrapped []lineRange
	var out []ast.Stmt
	next := 0
	for _, run := range runs {
		stmts := stmtsOf(list, run)
		if hasReturn(stmts) || !hasScopes(stmts) {
			continue
		}
		start, end := list[run[0]], list[run[1]]
		l1, _ := r.a.pt.LineCol(start.Pos())
		l2, _ := r.a.pt.LineCol(end.End())
		wrapped = append(wrapped, lineRange{count, line + l1 - 1, line + l2 - 1})
		body := make([]ast.Stmt, len(stmts))
		for k, s := range stmts {
			body[k] = r.t.holeStmt(s)
		}
		// func() { run }()
		w := &ast.ExprStmt{X: &ast.CallExpr{Fun: funcLit(body...)}}
		r.t.at[w] = span{r.t.off(start.Pos()), r.t.off(end.End())}
		out = append(append(out, list[next:run[0]]...), w)
		next = run[1] + 1
	}
	if len(wrapped) > 0 {
		setTopLevel(r.a.file, append(out, list[next:]...))
	}
	return wrapped
}

// lastStmt returns the index of the last statement of list before end
// that is not empty, from first on.
func lastStmt(list []ast.Stmt, first, end int) int {
	last := first
	for k := first; k < end; k++ {
		if _, empty := list[k].(*ast.EmptyStmt); !empty {
			last = k
		}
	}
	return last
}

// stmtsOf returns the statements of list in run (first and last index),
// empty ones left out.
func stmtsOf(list []ast.Stmt, run [2]int) []ast.Stmt {
	var out []ast.Stmt
	for _, s := range list[run[0] : run[1]+1] {
		if _, empty := s.(*ast.EmptyStmt); !empty {
			out = append(out, s)
		}
	}
	return out
}

// hasScopes reports whether run holds a statement with scopes of its own
// (if, for, switch, select, a block, a label), which yaegi mishandles at
// the top level; runs of simple statements are left alone, as they cost
// yaegi less at the top level.
func hasScopes(run []ast.Stmt) bool {
	for _, s := range run {
		switch s.(type) {
		case *ast.ExprStmt, *ast.AssignStmt, *ast.IncDecStmt, *ast.SendStmt, *ast.BranchStmt:
		default:
			return true
		}
	}
	return false
}

// labelsWithin reports whether every label that a branch statement of run
// names (outside func literals) is declared in run.
func labelsWithin(run []ast.Stmt) bool {
	declared, named := map[string]bool{}, map[string]bool{}
	for _, s := range run {
		ast.Inspect(s, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				return false
			case *ast.LabeledStmt:
				declared[n.Label.Name] = true
			case *ast.BranchStmt:
				if n.Label != nil {
					named[n.Label.Name] = true
				}
			}
			return true
		})
	}
	for l := range named {
		if !declared[l] {
			return false
		}
	}
	return true
}

// hasReturn reports whether run holds a return statement outside func
// literals.
func hasReturn(run []ast.Stmt) bool {
	found := false
	for _, s := range run {
		ast.Inspect(s, func(n ast.Node) bool {
			switch n.(type) {
			case *ast.FuncLit:
				return false
			case *ast.ReturnStmt:
				found = true
			}
			return !found
		})
	}
	return found
}

// offsetof returns the offset of the field name in the struct type of x
// (or of what x points to): unsafe.Offsetof(x.name) for a field yaegi
// stores under an exported name. A promoted field's offset is the sum of
// the offsets along its path.
func offsetof(x any, name string) uintptr {
	t := reflect.TypeOf(x)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("unsafe.Offsetof: %v is not a struct", t))
	}
	off, ok := fieldOffset(t, name)
	if !ok {
		panic(fmt.Sprintf("unsafe.Offsetof: %v has no field %s", t, name))
	}
	return off
}

// lineRange is a range of lines of a cell.
type lineRange struct{ count, first, last int }

// unwrapFrames removes, from the traceback of ke, the frame of the func
// literal that wraps a run of top-level statements (see wrapRuns), giving
// its position to the cell's frame that calls it, so that the traceback
// reads as if the statements ran in the cell itself. yaegi names the
// frames of func literals "func"; the wrapper's is the one just above the
// cell's frame (the last) whose line is in a wrapped run.
func unwrapFrames(ke *protocol.Error, wrapped []lineRange) {
	if ke == nil || len(wrapped) == 0 || len(ke.Traceback) < 2 {
		return
	}
	n := len(ke.Traceback)
	_, lastFn, ok1 := cell.ParseFrame(ke.Traceback[n-1])
	prev, prevFn, ok2 := cell.ParseFrame(ke.Traceback[n-2])
	// The cell's frame is the last; yaegi sometimes names it "func" too.
	if !ok1 || !ok2 || (lastFn != "cell" && lastFn != "func") || prevFn != "func" {
		return
	}
	c, l := prev.Cell, prev.Line
	for _, w := range wrapped {
		if c == w.count && l >= w.first && l <= w.last {
			ke.Traceback = append(ke.Traceback[:n-2], strings.TrimSuffix(ke.Traceback[n-2], "(func)")+"(cell)")
			return
		}
	}
}

// fieldOffset finds the field name (or yaegi's X-prefixed name for it) in
// the struct type t, breadth first through the struct fields (yaegi does
// not mark embedded fields as such), and returns its offset from the start
// of t.
func fieldOffset(t reflect.Type, name string) (uintptr, bool) {
	type node struct {
		t   reflect.Type
		off uintptr
	}
	level := []node{{t, 0}}
	for depth := 0; depth < 8 && len(level) > 0; depth++ {
		var next []node
		for _, n := range level {
			for k := 0; k < n.t.NumField(); k++ {
				f := n.t.Field(k)
				if f.Name == name || f.Name == "X"+name {
					return n.off + f.Offset, true
				}
				if f.Type.Kind() == reflect.Struct {
					next = append(next, node{f.Type, n.off + f.Offset})
				}
			}
		}
		level = next
	}
	return 0, false
}

// suspectRange finds, in f (an item's tree, before its rewrites), the
// first range statement whose expression may be an integer the rewrite
// does not recognise: yaegi v0.16 fails on a range over an integer with a
// bare "nil type".
func suspectRange(f *ast.File) *ast.RangeStmt {
	var found *ast.RangeStmt
	ast.Inspect(f, func(n ast.Node) bool {
		rs, isRange := n.(*ast.RangeStmt)
		if found != nil || !isRange || rs.Value != nil {
			return found == nil
		}
		switch x := ast.Unparen(rs.X).(type) {
		case *ast.CompositeLit, *ast.FuncLit:
			return true
		case *ast.BasicLit:
			if x.Kind == token.STRING {
				return true
			}
		}
		found = rs
		return false
	})
	return found
}
