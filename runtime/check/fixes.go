package check

import (
	"go/ast"
	"go/token"
	"go/types"
	"sort"

	"github.com/perfnb/perfnb/runtime/cell"
)

// Edit is a change to a cell's text: Text inserted at Line:Col (1-based,
// Col in bytes) of the cell.
type Edit struct {
	Line, Col int
	Text      string
}

// Fixes returns the edits that make the cell's items run in the
// interpreter as Go runs them, where yaegi departs from Go in a way only
// types can tell. Today: the untyped constant on the left of a shift by a
// non-constant amount takes its type from the context in Go (uint64 in
// b&(1<<n) where b is uint64); yaegi gives it type int, which fails in
// reflect, so the constant is converted explicitly (uint64(1)<<n).
func (p *Program) Fixes(items []cell.Item) []Edit {
	var edits []Edit
	inspectItems(items, func(n ast.Node) bool {
		if b, ok := n.(*ast.BinaryExpr); ok && (b.Op == token.SHL || b.Op == token.SHR) {
			edits = append(edits, p.shiftFix(b)...)
		}
		return true
	})
	return edits
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
	start, end := p.fset.Position(b.X.Pos()), p.fset.Position(b.X.End())
	return []Edit{
		{Line: start.Line, Col: start.Column, Text: basic.Name() + "("},
		{Line: end.Line, Col: end.Column, Text: ")"},
	}
}

// Apply makes edits in src, a cell's text (with \n line ends).
func Apply(src string, edits []Edit) string {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	type at struct {
		off  int
		text string
	}
	var list []at
	for _, e := range edits {
		if e.Line < 1 || e.Line > len(starts) {
			continue
		}
		off := starts[e.Line-1] + e.Col - 1
		if off < 0 || off > len(src) {
			continue
		}
		list = append(list, at{off, e.Text})
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].off > list[j].off })
	for _, a := range list {
		src = src[:a.off] + a.text + src[a.off:]
	}
	return src
}

// Unsupported lists, at their positions, the constructs of the items that
// are Go but that the interpreter (yaegi v0.16) cannot run: the builtins
// min, max and clear (Go 1.21) and range over a function (Go 1.23
// iterators). Diag.Msg names the construct.
func (p *Program) Unsupported(items []cell.Item, count int) []Diag {
	var out []Diag
	add := func(pos token.Pos, what string) {
		at := p.fset.Position(pos)
		out = append(out, Diag{Cell: count, Line: at.Line, Col: at.Column, Msg: what})
	}
	inspectItems(items, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if id, ok := ast.Unparen(n.Fun).(*ast.Ident); ok {
				if b, ok := p.Info.Uses[id].(*types.Builtin); ok && (b.Name() == "min" || b.Name() == "max" || b.Name() == "clear") {
					add(n.Pos(), "the builtin "+b.Name()+" (Go 1.21)")
				}
			}
		case *ast.RangeStmt:
			if tv, ok := p.Info.Types[n.X]; ok && tv.Type != nil {
				if _, isFunc := tv.Type.Underlying().(*types.Signature); isFunc {
					add(n.X.Pos(), "range over a function (a Go 1.23 iterator)")
				}
			}
		}
		return true
	})
	return out
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
