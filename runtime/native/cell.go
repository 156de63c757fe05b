package native

// Compiled cells. A cell that the interpreter cannot run faithfully is
// built, with the declarations of the earlier cells it uses, into a
// program of its own and run once in a child process, starting from the
// notebook's values (carry.go); the values it changed come back (see
// runtime/harness's child_cell.go). The cell's code keeps its meaning
// and its positions:
//
//	var x []int                 // each variable the cell declares, typed
//	func f() int { ... }        // its types, funcs, methods and consts
//	func perfnbCell() {
//		perfnbHarness.Reached(1)
//	//line In[5]:1:1
//		x = []int{3, 1, 2}      // x := ... becomes an assignment
//		perfnbHarness.Reached(2)
//	//line In[5]:2:1
//		slices.Sort(x)
//	}
//	func main() { perfnbHarness.RunCell(perfnbState, perfnbCell, perfnbVars) }
//
// The statements run in their order with their declarations at package
// level, as in the interpreter, where a top-level x := f() declares a
// package-level x.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"sort"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/runtime/cell"
)

// CellProgram is a cell to build as a program of its own. The types of
// the variables its items declare at the cell's top level (var
// declarations and x := f()) are those the workspace's TypeSource gives.
type CellProgram struct {
	// Decls are the declarations the cell can use: those of the earlier
	// cells that it does not declare again, and its imports.
	Decls []cell.Decl
	// Count is the cell's execution count (the N of In[N]).
	Count int
	// Items are the cell's Go items to run, in order, parsed (Syntax set)
	// by cell.ParseIn; positions in their Syntax read as cell lines.
	Items []cell.Item
	// First numbers the first of Items in the cell (the items before it
	// ran in the interpreter); Reached counts from it.
	First int
	// Show is, when the last item is an expression whose value the cell
	// shows, how many values it has (a call may have several); 0 runs it
	// as a statement.
	Show int
}

// cellCode is a compiled cell ready to print: its package-level
// declarations and the body of perfnbCell, as Go source with //line
// directives, and what they use.
type cellCode struct {
	count int
	decls string   // package-level declarations
	body  string   // the body of perfnbCell
	vars  []string // the variables the cell declares, in order
	// handles are the variables among vars whose type holds a display
	// handle: it names an output of the child, and does not come back.
	handles  []string
	declared []string // every package-level name the cell declares
	refs     []string // unresolved identifiers
	sels     []string // unresolved identifiers used as X in X.Sel
	imports  map[string]string
}

// displayPackage is the import path of perfnb's display package, which
// the type checker may name a display's type by.
const displayPackage = "github.com/perfnb/perfnb/runtime/display"

// Names used by generated code, which cells are unlikely to declare.
const (
	harnessName = "perfnbHarness"
	cellFunc    = "perfnbCell"
	varsFunc    = "perfnbVars"
)

// newCellCode prepares the source of a compiled cell whose variables
// have the types typeOf gives.
func newCellCode(c CellProgram, typeOf map[string]types.Type) (*cellCode, error) {
	cc := &cellCode{count: c.Count, imports: map[string]string{}}
	var decls, body strings.Builder
	for k, it := range c.Items {
		if it.Syntax == nil {
			continue
		}
		fmt.Fprintf(&body, "\t%s.Reached(%d)\n", harnessName, c.First+k)
		switch it.Kind {
		case cell.Declaration:
			if err := cc.declaration(&decls, &body, it, typeOf); err != nil {
				return nil, err
			}
		case cell.Statement:
			if err := cc.statements(&decls, &body, it, typeOf); err != nil {
				return nil, err
			}
		case cell.Expression:
			if k == len(c.Items)-1 && c.Show > 0 {
				cc.show(&body, it, c.Show)
				continue
			}
			writeCode(&body, c.Count, it.Line, 1, it.Source)
		}
	}
	cc.decls, cc.body = decls.String(), body.String()
	src := "package main\n" + cc.decls + "\nfunc _() {\n" + cc.body + "}\n"
	f, err := parser.ParseFile(token.NewFileSet(), "cell.go", src, 0)
	if err != nil {
		return nil, parseErr(err)
	}
	cc.refs, cc.sels = unresolved(f)
	return cc, nil
}

// writeCode writes cell code behind a //line directive.
func writeCode(b *strings.Builder, count, line, col int, src string) {
	fmt.Fprintf(b, "%s\n%s\n", cell.Pos{Cell: count, Line: line, Col: col}.Directive(), strings.TrimRight(src, "\n"))
}

// declaration adds a Declaration item: its types, funcs, methods and
// consts at package level as they are, its vars at package level without
// their initialisers, which become assignments in the body, in order.
func (cc *cellCode) declaration(decls, body *strings.Builder, it cell.Item, types map[string]types.Type) error {
	for _, d := range it.Syntax.Decls {
		gd, isGen := d.(*ast.GenDecl)
		if !isGen || gd.Tok != token.VAR {
			from := it.Syntax.Fset.Position(d.Pos())
			writeCode(decls, cc.count, from.Line, 1, itemText(it, d.Pos(), d.End(), true))
			cc.declared = append(cc.declared, cell.DeclaredNames(d)...)
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			var names []string
			for _, id := range vs.Names {
				names = append(names, id.Name)
				if id.Name != "_" {
					if err := cc.declareVar(decls, id.Name, types); err != nil {
						return err
					}
				}
			}
			if len(vs.Values) == 0 {
				continue
			}
			at := it.Syntax.Fset.Position(vs.Values[0].Pos())
			fmt.Fprintf(body, "%s = /*line %s:%d:%d*/%s\n", strings.Join(names, ", "), cell.File(cc.count), at.Line, at.Column,
				itemText(it, vs.Values[0].Pos(), vs.Values[len(vs.Values)-1].End(), false))
		}
	}
	return nil
}

// statements adds a Statement item to the body, its top-level x := f()
// as assignments to package-level variables, and a check of an interrupt
// (harness.Poll) at the end of each loop body of its own (not of the
// functions it declares or starts), so that an interrupted cell stops
// with its values.
func (cc *cellCode) statements(decls, body *strings.Builder, it cell.Item, types map[string]types.Type) error {
	starts := lineStarts(it.Source)
	type edit struct {
		off  int
		old  string // the text replaced, "" for an insertion
		text string
	}
	var edits []edit
	at := func(pos token.Pos) int {
		p := it.Syntax.Fset.Position(pos)
		return offsetIn(starts, p.Line-it.Line, p.Column)
	}
	for _, s := range it.Syntax.Stmts {
		ast.Inspect(s, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				return false
			case *ast.ForStmt:
				edits = append(edits, edit{off: at(n.Body.Rbrace), text: "; " + harnessName + ".Poll(); "})
			case *ast.RangeStmt:
				edits = append(edits, edit{off: at(n.Body.Rbrace), text: "; " + harnessName + ".Poll(); "})
			}
			return true
		})
		as, ok := s.(*ast.AssignStmt)
		if !ok || as.Tok != token.DEFINE {
			continue
		}
		for _, e := range as.Lhs {
			if id, ok := e.(*ast.Ident); ok && id.Name != "_" && !contains(cc.vars, id.Name) {
				if err := cc.declareVar(decls, id.Name, types); err != nil {
					return err
				}
			}
		}
		// := becomes " =": the columns after it stay those of the cell.
		edits = append(edits, edit{off: at(as.TokPos), old: ":=", text: " ="})
	}
	src := it.Source
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].off > edits[j].off })
	for _, e := range edits {
		if e.off < 0 || e.off+len(e.old) > len(src) || src[e.off:e.off+len(e.old)] != e.old {
			continue
		}
		src = src[:e.off] + e.text + src[e.off+len(e.old):]
	}
	writeCode(body, cc.count, it.Line, 1, src)
	return nil
}

// show adds the cell's trailing expression, whose n values are shown.
func (cc *cellCode) show(body *strings.Builder, it cell.Item, n int) {
	e := it.Syntax.Stmts[0].(*ast.ExprStmt).X
	at := it.Syntax.Fset.Position(e.Pos())
	text := itemText(it, e.Pos(), e.End(), false)
	mark := fmt.Sprintf("/*line %s:%d:%d*/", cell.File(cc.count), at.Line, at.Column)
	if n == 1 {
		fmt.Fprintf(body, "%s.Show(%s%s)\n", harnessName, mark, text)
		return
	}
	vals := make([]string, n)
	for i := range vals {
		vals[i] = "perfnbV" + strconv.Itoa(i)
	}
	list := strings.Join(vals, ", ")
	fmt.Fprintf(body, "{\n%s := %s%s\n%s.Show(%s)\n}\n", list, mark, text, harnessName, list)
}

// declareVar declares a variable of the cell at package level, with the
// type the checker gave it.
func (cc *cellCode) declareVar(decls *strings.Builder, name string, types map[string]types.Type) error {
	t, ok := types[name]
	if !ok {
		return &Error{Kind: CompileFailed, Summary: fmt.Sprintf("the type of %s is unknown, so the cell cannot be compiled", name)}
	}
	fmt.Fprintf(decls, "var %s %s\n", name, typeSource(t, cc.imports))
	if strings.Contains(t.String(), "display.Handle") {
		cc.handles = append(cc.handles, name)
	}
	cc.vars = append(cc.vars, name)
	cc.declared = append(cc.declared, name)
	return nil
}

// itemText returns the text of an item between two positions of its
// syntax; wholeLines widens it to the start of the first line (so that
// it keeps its columns behind a //line directive at column 1).
func itemText(it cell.Item, from, to token.Pos, wholeLines bool) string {
	starts := lineStarts(it.Source)
	p, q := it.Syntax.Fset.Position(from), it.Syntax.Fset.Position(to)
	start := offsetIn(starts, p.Line-it.Line, p.Column)
	if wholeLines {
		start = offsetIn(starts, p.Line-it.Line, 1)
	}
	end := offsetIn(starts, q.Line-it.Line, q.Column)
	if start < 0 || end < start || end > len(it.Source) {
		return ""
	}
	return it.Source[start:end]
}

// lineStarts returns the offset of each line of src.
func lineStarts(src string) []int {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offsetIn returns the offset of column col (1-based, in bytes) of line
// k (0-based) of a source whose lines start at starts, or -1.
func offsetIn(starts []int, k, col int) int {
	if k < 0 || k >= len(starts) {
		return -1
	}
	return starts[k] + col - 1
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cellVars lists the variables that items declare at the cell's top
// level.
func cellVars(items []cell.Item) []string {
	var out []string
	for _, it := range items {
		for _, d := range it.Decls {
			if d.Kind == cell.VarDecl && d.Name != "_" && !contains(out, d.Name) {
				out = append(out, d.Name)
			}
		}
	}
	return out
}

// newCellGenerator parses the declarations a compiled cell can use and
// the cell, whose variables have the types typeOf gives, and selects the
// declarations it needs. A declaration of a name the cell declares again
// is left out.
func newCellGenerator(c CellProgram, typeOf map[string]types.Type, parsed *declCache) (*generator, error) {
	cc, err := newCellCode(c, typeOf)
	if err != nil {
		return nil, err
	}
	g := &generator{declByName: map[string][]int{}, methodsOf: map[string][]int{}, typeNames: map[string]bool{}, cell: cc, parsed: parsed}
	var decls []cell.Decl
	for _, d := range c.Decls {
		if d.Kind == cell.ImportDecl || !contains(cc.declared, d.Name) {
			decls = append(decls, d)
		}
	}
	if err := g.parseDecls(decls); err != nil {
		return nil, err
	}
	g.selectDecls()
	return g, nil
}

// emitCell writes the compiled cell and the program's main.
func (g *generator) emitCell(w *lineWriter) {
	cc := g.cell
	w.printf("\n")
	for _, l := range strings.SplitAfter(cc.decls, "\n") {
		w.printf("%s", l)
	}
	w.printf("%s\n", lineDirective(GeneratedFile, w.line+1, 1))
	w.printf("\nfunc %s() {\n", cellFunc)
	w.printf("%s", cc.body)
	w.printf("%s\n", lineDirective(GeneratedFile, w.line+1, 1))
	w.printf("}\n")
	var pairs []string
	for _, n := range cc.vars {
		if !contains(cc.handles, n) {
			pairs = append(pairs, fmt.Sprintf("%q, &%s", n, n))
		}
	}
	for _, n := range sortedKeys(g.carried) {
		if !contains(cc.vars, n) {
			pairs = append(pairs, fmt.Sprintf("%q, &%s", n, n))
		}
	}
	w.printf("\nfunc %s() []any { return []any{%s} }\n", varsFunc, strings.Join(pairs, ", "))
	state := "nil"
	if len(g.carried) > 0 {
		state = "perfnbState"
	}
	w.printf("\nfunc main() { %s.RunCell(%s, %s, %s) }\n", harnessName, state, cellFunc, varsFunc)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
