package check

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"sort"
	"strings"

	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/stdpkg"
)

// Edit is a change to a cell's text: the text from Line:Col to
// EndLine:EndCol (1-based, Col in bytes; an empty range when EndLine is
// 0) replaced by Text.
type Edit struct {
	Line, Col       int
	EndLine, EndCol int
	Text            string
}

// Fixes returns the edits that make the cell's items run in the
// interpreter as Go runs them, where yaegi departs from Go in a way only
// types can tell, or lacks a builtin that a call of perfnb's runtime
// package (rt, its name in the interpreter) replaces exactly:
//   - the untyped constant on the left of a shift by a non-constant
//     amount takes its type from the context in Go (uint64 in b&(1<<n)
//     where b is uint64); yaegi gives it type int, which fails in
//     reflect, so the constant is converted explicitly (uint64(1)<<n);
//   - min and max of numbers or strings become calls of rt's compiled
//     MinInt, MaxFloat64... on the operands converted to their basic
//     type, and the result converted back to the call's type, so that
//     NaN and negative zero come out as Go's builtins give them;
//   - clear(m) and clear(s) become rt.Clear, which clears through
//     reflection as the builtin does.
func (p *Program) Fixes(items []cell.Item, rt string) []Edit {
	var edits []Edit
	inspectItems(items, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if n.Op == token.SHL || n.Op == token.SHR {
				edits = append(edits, p.shiftFix(n)...)
			}
		case *ast.CallExpr:
			edits = append(edits, p.builtinFix(n, rt)...)
		}
		return true
	})
	return edits
}

// ShowFix returns the edits that make the interpreter show the value of
// it, the cell's trailing expression, as fmt does, when its type is one
// the notebook declares with an Error or String method: yaegi gives the
// values of such types no methods that fmt, outside the interpreter, can
// see, so the expression becomes rt.ShowError(x) or rt.ShowString(x),
// whose parameter yaegi fills with a value that has the method.
func (p *Program) ShowFix(it cell.Item, rt string) []Edit {
	if p.Shown(it) != 1 || rt == "" {
		return nil
	}
	x := it.Syntax.Stmts[0].(*ast.ExprStmt).X
	t := p.Info.Types[x].Type
	base := t
	if ptr, ok := base.(*types.Pointer); ok {
		base = ptr.Elem()
	}
	named, ok := base.(*types.Named)
	if !ok || named.Obj().Pkg() != p.Pkg {
		return nil // a compiled package's methods are seen through reflection
	}
	errorType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	switch {
	case types.Implements(t, errorType):
		return p.wrap(x, rt+".ShowError(", ")")
	case types.Implements(t, stringer()):
		return p.wrap(x, rt+".ShowString(", ")")
	}
	return nil
}

// stringer is fmt.Stringer's method set: interface{ String() string }.
func stringer() *types.Interface {
	result := types.NewTuple(types.NewVar(token.NoPos, nil, "", types.Typ[types.String]))
	sig := types.NewSignatureType(nil, nil, nil, nil, result, false)
	return types.NewInterfaceType([]*types.Func{types.NewFunc(token.NoPos, nil, "String", sig)}, nil).Complete()
}

// shiftFix converts the constant left operand of a non-constant shift to
// the type Go gives it, when that is not int.
func (p *Program) shiftFix(b *ast.BinaryExpr) []Edit {
	if y, ok := p.Info.Types[b.Y]; !ok || y.Value != nil {
		return nil // a constant shift: no type from context
	}
	x, ok := p.Info.Types[b.X]
	if !ok || x.Value == nil {
		return nil
	}
	basic, ok := x.Type.(*types.Basic)
	if !ok || basic.Info()&types.IsUntyped != 0 || basic.Kind() == types.Int {
		return nil
	}
	return p.wrap(b.X, basic.Name()+"(", ")")
}

// wrap returns the edits that put before and after around e.
func (p *Program) wrap(e ast.Node, before, after string) []Edit {
	start, end := p.fset.Position(e.Pos()), p.fset.Position(e.End())
	return []Edit{
		{Line: start.Line, Col: start.Column, Text: before},
		{Line: end.Line, Col: end.Column, Text: after},
	}
}

// builtinFix rewrites a call of the builtin min, max or clear for the
// interpreter (see Fixes); a call it cannot rewrite is left alone (and
// Unsupported lists it).
func (p *Program) builtinFix(call *ast.CallExpr, rt string) []Edit {
	name, ok := p.builtin(call)
	if !ok || rt == "" {
		return nil
	}
	fun := p.fset.Position(call.Fun.Pos())
	funEnd := p.fset.Position(call.Fun.End())
	replace := func(text string) Edit {
		return Edit{Line: fun.Line, Col: fun.Column, EndLine: funEnd.Line, EndCol: funEnd.Column, Text: text}
	}
	if name == "clear" {
		return []Edit{replace(rt + ".Clear")}
	}
	tv := p.Info.Types[call]
	if tv.Value != nil {
		return p.constantFix(call, tv)
	}
	kind, conv, ok := orderedKind(tv.Type)
	if !ok {
		return nil
	}
	edits := []Edit{replace(rt + "." + strings.ToUpper(name[:1]) + name[1:] + kind)}
	if conv != "" {
		edits = append(edits, p.wrap(call, conv+"(", ")")...)
	}
	for _, a := range call.Args {
		edits = append(edits, p.wrap(a, strings.ToLower(kind[:1])+kind[1:]+"(", ")")...)
	}
	return edits
}

// constantFix replaces a constant call of min or max by the operand it
// gives, converted to the call's type when it has one: the text before
// and after that operand is replaced.
func (p *Program) constantFix(call *ast.CallExpr, tv types.TypeAndValue) []Edit {
	for _, a := range call.Args {
		av := p.Info.Types[a].Value
		if av == nil || !constant.Compare(av, token.EQL, tv.Value) {
			continue
		}
		open := "("
		if b, ok := tv.Type.(*types.Basic); !ok || b.Info()&types.IsUntyped == 0 {
			open = types.TypeString(tv.Type, func(*types.Package) string { return "" }) + "("
		}
		from, argFrom := p.fset.Position(call.Pos()), p.fset.Position(a.Pos())
		argTo, to := p.fset.Position(a.End()), p.fset.Position(call.End())
		return []Edit{
			{Line: from.Line, Col: from.Column, EndLine: argFrom.Line, EndCol: argFrom.Column, Text: open},
			{Line: argTo.Line, Col: argTo.Column, EndLine: to.Line, EndCol: to.Column, Text: ")"},
		}
	}
	return nil
}

// builtin returns the name of the builtin min, max or clear that call
// calls.
func (p *Program) builtin(call *ast.CallExpr) (string, bool) {
	id, ok := ast.Unparen(call.Fun).(*ast.Ident)
	if !ok {
		return "", false
	}
	b, ok := p.Info.Uses[id].(*types.Builtin)
	if !ok {
		return "", false
	}
	switch b.Name() {
	case "min", "max", "clear":
		return b.Name(), true
	}
	return "", false
}

// orderedKind returns, for an ordered type (number or string), the name
// of its basic type as rt's functions spell it (Int, Float64, String...)
// and the conversion back to t when t is not that basic type.
func orderedKind(t types.Type) (kind, conv string, ok bool) {
	b, isBasic := t.Underlying().(*types.Basic)
	if !isBasic || b.Info()&types.IsOrdered == 0 || b.Info()&types.IsUntyped != 0 {
		return "", "", false
	}
	name := b.Name()
	kind = strings.ToUpper(name[:1]) + name[1:]
	if !types.Identical(t, b) {
		conv = types.TypeString(t, func(*types.Package) string { return "" })
	}
	return kind, conv, true
}

// Apply makes edits in src, a cell's text (with \n line ends).
func Apply(src string, edits []Edit) string {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	offset := func(line, col int) int {
		if line < 1 || line > len(starts) {
			return -1
		}
		off := starts[line-1] + col - 1
		if off < 0 || off > len(src) {
			return -1
		}
		return off
	}
	type at struct {
		off, end int
		text     string
	}
	var list []at
	for _, e := range edits {
		off := offset(e.Line, e.Col)
		end := off
		if e.EndLine > 0 {
			end = offset(e.EndLine, e.EndCol)
		}
		if off < 0 || end < off {
			continue
		}
		list = append(list, at{off, end, e.Text})
	}
	// From the end, so that offsets stay valid; at one offset, the edit
	// given first ends up first.
	sort.SliceStable(list, func(i, j int) bool { return list[i].off > list[j].off })
	for _, a := range list {
		src = src[:a.off] + a.text + src[a.end:]
	}
	return src
}

// Interpreter describes what the interpreter can run, for Unsupported.
type Interpreter interface {
	// Has reports whether the interpreter has the member name of the
	// standard package at path (one newer than its copy of the standard
	// library does not).
	Has(path, name string) bool
}

// Unsupported lists, at their positions, the constructs of the items that
// are Go but that the interpreter (yaegi v0.16) cannot run faithfully, so
// that the cell runs compiled: the builtins min and max on operands Fixes
// cannot rewrite; range over a function (Go 1.23 iterators); a call of a
// generic function (yaegi runs one instantiation of it); a generic type
// of another package; a member of a standard package that the
// interpreter's standard library does not have (newer than Go 1.22).
// Diag.Msg names the construct, briefly.
func (p *Program) Unsupported(items []cell.Item, count int, in Interpreter) []Diag {
	var out []Diag
	seen := map[string]bool{}
	add := func(pos token.Pos, what string) {
		if seen[what] {
			return
		}
		seen[what] = true
		at := p.fset.Position(pos)
		out = append(out, Diag{Cell: count, Line: at.Line, Col: at.Column, Msg: what})
	}
	inspectItems(items, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if name, ok := p.builtin(n); ok && name != "clear" && len(p.builtinFix(n, "rt")) == 0 && p.Info.Types[n].Value == nil {
				add(n.Pos(), "uses "+name+" (Go 1.21) on "+p.Info.Types[n].Type.String())
			}
		case *ast.RangeStmt:
			if tv, ok := p.Info.Types[n.X]; ok && tv.Type != nil {
				if _, isFunc := tv.Type.Underlying().(*types.Signature); isFunc {
					add(n.X.Pos(), "ranges over a function (a Go 1.23 iterator)")
				}
			}
		case *ast.Ident:
			p.unsupportedUse(n, in, add)
		case *ast.SelectorExpr:
			p.unsupportedMember(n, in, add)
		}
		return true
	})
	return out
}

// unsupportedUse lists a use of a generic function, or of a generic type
// of another package.
func (p *Program) unsupportedUse(id *ast.Ident, _ Interpreter, add func(token.Pos, string)) {
	if _, ok := p.Info.Instances[id]; !ok {
		return
	}
	switch obj := p.Info.Uses[id].(type) {
	case *types.Func:
		add(id.Pos(), "calls the generic function "+qualified(obj))
	case *types.TypeName:
		if obj.Pkg() != nil && obj.Pkg() != p.Pkg {
			add(id.Pos(), "uses the generic type "+qualified(obj))
		}
	}
}

// unsupportedMember lists a member of a standard package that the
// interpreter lacks.
func (p *Program) unsupportedMember(sel *ast.SelectorExpr, in Interpreter, add func(token.Pos, string)) {
	x, ok := sel.X.(*ast.Ident)
	if !ok || in == nil {
		return
	}
	pn, ok := p.Info.Uses[x].(*types.PkgName)
	if !ok || !stdpkg.IsStd(pn.Imported().Path()) {
		return
	}
	obj := p.Info.Uses[sel.Sel]
	if obj == nil || p.Info.Instances[sel.Sel].Type != nil {
		return // a generic function: unsupportedUse lists it
	}
	if !in.Has(pn.Imported().Path(), obj.Name()) {
		add(sel.Pos(), "uses "+pn.Imported().Path()+"."+obj.Name()+", newer than the interpreter's standard library (Go 1.22)")
	}
}

// qualified names obj with its package's path, or alone in the notebook.
func qualified(obj types.Object) string {
	if obj.Pkg() == nil || obj.Pkg().Path() == "main" {
		return obj.Name()
	}
	return obj.Pkg().Path() + "." + obj.Name()
}

// Uses lists the package-level names of the notebook that the items use.
func (p *Program) Uses(items []cell.Item) []string {
	seen := map[string]bool{}
	var out []string
	inspectItems(items, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if obj := p.Info.Uses[id]; obj != nil && obj.Pkg() == p.Pkg && obj.Parent() == p.Pkg.Scope() && !seen[id.Name] {
				seen[id.Name] = true
				out = append(out, id.Name)
			}
		}
		return true
	})
	return out
}

// Packages lists the import paths of the packages that the items use.
func (p *Program) Packages(items []cell.Item) []string {
	seen := map[string]bool{}
	var out []string
	inspectItems(items, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if pn, ok := p.Info.Uses[id].(*types.PkgName); ok && !seen[pn.Imported().Path()] {
				seen[pn.Imported().Path()] = true
				out = append(out, pn.Imported().Path())
			}
		}
		return true
	})
	return out
}

// VarType returns the type of the package-level variable name of the
// program (a variable a cell declared with var or at its top level with
// :=), or nil.
func (p *Program) VarType(name string) types.Type {
	if v, ok := p.Pkg.Scope().Lookup(name).(*types.Var); ok {
		return v.Type()
	}
	return nil
}

// Shown returns how many values the cell shows for it, its trailing
// Expression item: none for a call without results or with the (n int,
// err error) of a write (fmt.Println), one for a value, several for a
// call of several results.
func (p *Program) Shown(it cell.Item) int {
	if it.Kind != cell.Expression || it.Syntax == nil || len(it.Syntax.Stmts) != 1 {
		return 0
	}
	es, ok := it.Syntax.Stmts[0].(*ast.ExprStmt)
	if !ok {
		return 0
	}
	tv, ok := p.Info.Types[es.X]
	if !ok || tv.Type == nil || tv.IsVoid() {
		return 0
	}
	tuple, ok := tv.Type.(*types.Tuple)
	if !ok {
		return 1
	}
	if tuple.Len() == 2 && types.Identical(tuple.At(0).Type(), types.Typ[types.Int]) && tuple.At(1).Type().String() == "error" {
		return 0
	}
	return tuple.Len()
}

// inspectItems calls ast.Inspect with f on every declaration and statement
// of the items that have a syntax tree.
func inspectItems(items []cell.Item, f func(ast.Node) bool) {
	for _, it := range items {
		if it.Syntax == nil {
			continue
		}
		for _, d := range it.Syntax.Decls {
			ast.Inspect(d, f)
		}
		for _, s := range it.Syntax.Stmts {
			ast.Inspect(s, f)
		}
	}
}
