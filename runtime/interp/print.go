package interp

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/printer"
	"go/token"
	"sort"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/runtime/cell"
)

// An item's source is parsed once (analyze); the rewrites of source.go and
// rewrite.go change its syntax tree, and printItem writes the result once
// as the source yaegi evaluates.
//
// A rewrite changes the tree in one of two ways: it puts new statements in
// a list of the tree (a block's statements, the item's top-level
// statements), recording where they stand in the source (tree.at), or it
// replaces a node of the tree by a new one (tree.replaced). New nodes
// refer to nodes of the tree through holes (tree.hole), so that a node
// inside a replaced one is printed with its own rewrites.
//
// The nodes of the tree are printed as their source text, under a
// /*line*/ directive when the text before them is not theirs: yaegi
// reports positions by line and column, and go/printer keeps neither
// (it keeps lines only, with printer.SourcePos). New nodes are printed
// with go/printer, on one line, at the position of what they replace or
// of where they are put.

// tree is the syntax tree of one item and the rewrites made on it.
type tree struct {
	pt   *cell.Text
	src  string    // the item's source
	kind cell.Kind // the item's kind
	// replaced maps a node of the tree to the new node printed instead.
	replaced map[ast.Node]ast.Node
	// at maps a new node put in a list of the tree to the span of the
	// source it stands for: empty for a node inserted there, the span of
	// the statements it took the place of otherwise.
	at map[ast.Node]span
	// holes are the nodes of the tree that new nodes hold, by number.
	holes []hole
}

// span is a span of an item's source, by offsets.
type span struct{ start, end int }

func newTree(kind cell.Kind, src string, pt *cell.Text) *tree {
	return &tree{pt: pt, src: src, kind: kind, replaced: map[ast.Node]ast.Node{}, at: map[ast.Node]span{}}
}

func (t *tree) off(p token.Pos) int { return t.pt.Offset(p) }

// changed reports whether a rewrite changed the tree.
func (t *tree) changed() bool { return len(t.replaced) > 0 || len(t.at) > 0 }

// replace makes n, a node of the tree, print as the new node by.
func (t *tree) replace(n, by ast.Node) { t.replaced[n] = by }

// insert puts the new statements stmts in list at index k, standing at
// offset o of the source, and returns the new list.
func (t *tree) insert(list []ast.Stmt, k, o int, stmts ...ast.Stmt) []ast.Stmt {
	for _, s := range stmts {
		t.at[s] = span{o, o}
	}
	out := make([]ast.Stmt, 0, len(list)+len(stmts))
	return append(append(append(out, list[:k]...), stmts...), list[k:]...)
}

// A hole is written by go/printer as holeMark, its number and holeMark
// (and, for a block, inside "{ " and " }"), all of which the node's text
// replaces. holeMark is in no identifier, and the text of a new node
// holds no literal but those of the rewrites.
const holeMark = "@"

// hole is a node of the tree held by a new node.
type hole struct {
	n     ast.Node
	block bool // n is a block in a field of type *ast.BlockStmt
}

// newHole records n as a hole and returns the identifier standing for it.
func (t *tree) newHole(n ast.Node, block bool) *ast.Ident {
	t.holes = append(t.holes, hole{n, block})
	return ast.NewIdent(holeMark + strconv.Itoa(len(t.holes)-1) + holeMark)
}

// hole returns the expression that stands for e, a node of the tree, in a
// new node.
func (t *tree) hole(e ast.Expr) ast.Expr { return t.newHole(e, false) }

// holeStmt returns the statement that stands for s, a node of the tree, in
// a new node.
func (t *tree) holeStmt(s ast.Stmt) ast.Stmt { return &ast.ExprStmt{X: t.newHole(s, false)} }

// holeBlock returns the block that stands for b, a block of the tree, in
// a new node.
func (t *tree) holeBlock(b *ast.BlockStmt) *ast.BlockStmt {
	return &ast.BlockStmt{List: []ast.Stmt{&ast.ExprStmt{X: t.newHole(b, true)}}}
}

// nextHole finds the first hole in text, a new node as go/printer and
// oneLine wrote it: the hole and the span of text that stands for it.
func (t *tree) nextHole(text string) (h hole, start, end int, ok bool) {
	at := strings.Index(text, holeMark)
	if at < 0 {
		return hole{}, 0, 0, false
	}
	digits := text[at+len(holeMark):]
	n := strings.Index(digits, holeMark)
	k, err := strconv.Atoi(digits[:max(n, 0)])
	if n < 0 || err != nil || k >= len(t.holes) {
		panic("perfnb: a rewritten node lost a hole") // a bug: only holes have holeMark
	}
	h, start, end = t.holes[k], at, at+len(holeMark)+n+len(holeMark)
	if h.block {
		start, end = start-len("{ "), end+len(" }")
	}
	return h, start, end, true
}

// printItem writes the item's source with the rewrites of t, its first
// line being line of cell count. Without rewrites it is the source
// itself.
func (t *tree) printItem(count, line int) string {
	if !t.changed() {
		return t.src
	}
	p := &itemPrinter{t: t, count: count, line: line, dirty: map[ast.Node]bool{}, lines: []int{0}, newAt: -1}
	for k := 0; k < len(t.src); k++ {
		if t.src[k] == '\n' {
			p.lines = append(p.lines, k+1)
		}
	}
	var top []ast.Node
	if t.kind == cell.Import || t.kind == cell.Declaration {
		for _, d := range t.pt.File.Decls {
			top = append(top, d)
		}
	} else {
		for _, s := range topLevel(t.pt.File) {
			top = append(top, s)
		}
	}
	p.list(top, 0, len(t.src))
	return p.b.String()
}

// itemPrinter writes one item's rewritten source.
type itemPrinter struct {
	t           *tree
	count, line int
	b           strings.Builder
	// next is the offset of the source that the output has reached, or
	// -1 after a new node: text of the source at next needs no directive.
	next int
	// newAt is the offset where the last thing written, a new node, was
	// put, or -1: new nodes put one after another there share the first
	// one's directive.
	newAt int
	dirty map[ast.Node]bool
	lines []int // offset of the start of each line of the source
}

// directive returns the /*line*/ directive that gives the text after it
// the position of offset o of the source.
func (p *itemPrinter) directive(o int) string {
	k := sort.SearchInts(p.lines, o+1) - 1 // the last line starting at or before o
	return fmt.Sprintf("/*line %s:%d:%d*/", cell.InterpFile(p.count), p.line+k, o-p.lines[k]+1)
}

// copy writes the source from start to end.
func (p *itemPrinter) copy(start, end int) {
	if start >= end {
		return
	}
	if p.next != start {
		p.b.WriteString(p.directive(start))
	}
	p.b.WriteString(p.t.src[start:end])
	p.next, p.newAt = end, -1
}

// node writes n, a node of the tree.
func (p *itemPrinter) node(n ast.Node) {
	if by, ok := p.t.replaced[n]; ok {
		p.newNode(by, p.t.off(n.Pos()), n)
		return
	}
	p.original(n)
}

// original writes n, a node of the tree, with the rewrites under it but
// not its own replacement: a replacement may hold the node it replaces.
func (p *itemPrinter) original(n ast.Node) {
	start, end := p.t.off(n.Pos()), p.t.off(n.End())
	if !p.isDirty(n) {
		p.copy(start, end)
		return
	}
	p.list(children(n), start, end)
}

// list writes the source from start to end, where the nodes kids stand,
// in order: the tree's own nodes and new ones (tree.at).
func (p *itemPrinter) list(kids []ast.Node, start, end int) {
	cur := start
	for k, c := range kids {
		s, isNew := p.t.at[c]
		if !isNew {
			p.copy(cur, p.t.off(c.Pos()))
			p.node(c)
			cur = p.t.off(c.End())
			continue
		}
		p.copy(cur, s.start)
		inserted := s.start == s.end
		if _, prevNew := p.t.at[prev(kids, k)]; inserted && k > 0 && !prevNew {
			p.b.WriteString("; ")
		}
		p.newNode(c, s.start, nil)
		if inserted && k < len(kids)-1 {
			p.b.WriteString("; ")
		}
		cur = max(cur, s.end)
	}
	p.copy(cur, end)
}

func prev(kids []ast.Node, k int) ast.Node {
	if k == 0 {
		return nil
	}
	return kids[k-1]
}

// newNode writes n, a new node, at offset o of the source: printed by
// go/printer on one line, with the nodes of the tree it holds (its holes)
// written in their place. n replaces the node of the tree self, if any.
func (p *itemPrinter) newNode(n ast.Node, o int, self ast.Node) {
	text := oneLine(n)
	if p.next != o && p.newAt != o {
		p.b.WriteString(p.directive(o))
	}
	for {
		h, start, end, ok := p.t.nextHole(text)
		if !ok {
			break
		}
		p.b.WriteString(text[:start])
		p.next = -1
		if h.n == self {
			p.original(h.n)
		} else {
			p.node(h.n)
		}
		text = text[end:]
	}
	p.b.WriteString(text)
	p.next, p.newAt = -1, o
}

// isDirty reports whether n, a node of the tree, holds a rewrite.
func (p *itemPrinter) isDirty(n ast.Node) bool {
	if d, ok := p.dirty[n]; ok {
		return d
	}
	d := false
	for _, c := range children(n) {
		if _, isNew := p.t.at[c]; isNew {
			d = true
		} else if _, ok := p.t.replaced[c]; ok || p.isDirty(c) {
			d = true
		}
		if d {
			break
		}
	}
	p.dirty[n] = d
	return d
}

// children returns the nodes directly under n, in source order. Of a
// func declaration, only the body: its type, which ast.Walk visits after
// its receiver and name, starts before them, and no rewrite changes it.
func children(n ast.Node) []ast.Node {
	if fd, ok := n.(*ast.FuncDecl); ok {
		if fd.Body == nil {
			return nil
		}
		return []ast.Node{fd.Body}
	}
	var out []ast.Node
	ast.Inspect(n, func(c ast.Node) bool {
		if c == n {
			return true
		}
		if c != nil {
			out = append(out, c)
		}
		return false
	})
	return out
}

// oneLine prints n, a new node, with go/printer, its lines joined into
// one: a new node holds no comments and no raw strings, so that its line
// breaks only separate statements.
func oneLine(n ast.Node) string {
	var buf bytes.Buffer
	if err := printer.Fprint(&buf, token.NewFileSet(), n); err != nil {
		panic(fmt.Sprintf("perfnb: printing a rewritten node: %v", err)) // a bug: new nodes are well formed
	}
	var b strings.Builder
	prev := ""
	for k, l := range strings.Split(buf.String(), "\n") {
		l = strings.TrimLeft(l, "\t")
		if k > 0 {
			if strings.HasSuffix(prev, "{") || strings.HasPrefix(l, "}") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(l)
		prev = l
	}
	return b.String()
}
