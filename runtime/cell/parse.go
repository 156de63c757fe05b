package cell

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"regexp"
	"strconv"
	"strings"
)

// SyntaxError is a syntax error in a cell, at a 1-based line and column of
// the cell. The session prefixes it with the cell's name (In[3]:5:2: ...).
type SyntaxError struct {
	Line, Col int
	Msg       string
}

// Error returns "line:col: msg".
func (e *SyntaxError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// Parse splits a cell into its items, in order, with 1-based cell line
// numbers:
//
//   - a cell whose first non-blank line is %%name args is one CellMagic item
//     whose Magic.Body is the rest of the cell;
//   - a line %name args at the top level (not inside brackets, a raw string
//     or a comment) is a LineMagic item, wherever it appears;
//   - a line name?, pkg.Name?, name?? or ?name at the top level is a Help
//     item whose Source is the name and Detail 1 for ??; %magic? asks for
//     help on a magic (Source "%magic");
//   - each top-level import declaration is an Import item, and each type,
//     func, method, const or var declaration a Declaration item, with
//     their Decls;
//   - consecutive top-level statements form one Statement item; its Decls
//     hold what its top-level x := f() statements declare, stored as
//     var x = f();
//   - the cell's last item, when it is an expression statement, is an
//     Expression item (whether it has a value is for the interpreter to
//     find out);
//   - a package clause (package main, from a pasted file) is ignored.
//
// Comment lines directly above a declaration are part of its Source. An
// item that starts in the middle of a line (after a semicolon) has its
// Source padded with spaces so that columns match the cell. Decls carry
// Cell 0: the caller knows the execution count.
//
// A syntax error is returned as a *SyntaxError.
func Parse(src string) ([]Item, error) {
	return ParseIn(token.NewFileSet(), src)
}

// ParseIn is Parse with the items' syntax trees (Item.Syntax) in fset,
// so that trees of several cells can be type-checked together.
func ParseIn(fset *token.FileSet, src string) ([]Item, error) {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	p := &cellParser{src: src, fset: fset}
	p.indexLines()
	return p.parse()
}

// cellParser holds the state of one Parse.
type cellParser struct {
	fset       *token.FileSet
	src        string
	lineStarts []int // offset of the start of each line (index 0: line 1)
	items      []Item
}

func (p *cellParser) indexLines() {
	p.lineStarts = []int{0}
	for i := 0; i < len(p.src); i++ {
		if p.src[i] == '\n' {
			p.lineStarts = append(p.lineStarts, i+1)
		}
	}
}

// lineText returns line n (1-based) without its newline.
func (p *cellParser) lineText(n int) string {
	start := p.lineStarts[n-1]
	end := len(p.src)
	if n < len(p.lineStarts) {
		end = p.lineStarts[n] - 1
	}
	return p.src[start:end]
}

// position converts an offset in the cell to a line and column.
func (p *cellParser) position(off int) (line, col int) {
	lo, hi := 0, len(p.lineStarts)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if p.lineStarts[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1, off - p.lineStarts[lo] + 1
}

// piece is a run of Go lines, or a magic or help item, in cell order.
type piece struct {
	first, last int // Go lines first..last (1-based, inclusive)
	item        *Item
}

var helpRE = regexp.MustCompile(`^(\?{0,2})([\pL_][\pL\pN_]*(?:\.[\pL_][\pL\pN_]*)*)(\?{0,2})$`)

func (p *cellParser) parse() ([]Item, error) {
	it, err := p.cellMagic()
	if err != nil {
		return nil, err
	}
	if it != nil {
		return []Item{*it}, nil
	}
	pieces, err := p.pieces()
	if err != nil {
		return nil, err
	}
	for k, pc := range pieces {
		if pc.item != nil {
			p.items = append(p.items, *pc.item)
			continue
		}
		if err := p.goLines(pc.first, pc.last, k == len(pieces)-1); err != nil {
			return nil, err
		}
	}
	return p.items, nil
}

// cellMagic returns the CellMagic item that owns the whole cell when the
// cell's first non-blank line is %%name args, and nil otherwise.
func (p *cellParser) cellMagic() (*Item, error) {
	n := len(p.lineStarts)
	for i := 1; i <= n; i++ {
		t := strings.TrimSpace(p.lineText(i))
		if t == "" {
			continue
		}
		if !strings.HasPrefix(t, "%%") {
			return nil, nil
		}
		m, err := parseMagic(p.lineText(i), i)
		if err != nil {
			return nil, err
		}
		m.Cell = true
		if i < n {
			m.Body = p.src[p.lineStarts[i]:]
		}
		m.BodyLine = i + 1
		return &Item{Kind: CellMagic, Source: t, Line: i, Magic: m}, nil
	}
	return nil, nil
}

// pieces splits the cell into runs of Go lines and the magic and help
// items between them, in cell order.
func (p *cellParser) pieces() ([]piece, error) {
	n := len(p.lineStarts)
	var pieces []piece
	var lx lexer
	goFirst := 0 // first line of the current run of Go lines, 0: none
	flush := func(last int) {
		if goFirst > 0 {
			pieces = append(pieces, piece{first: goFirst, last: last})
			goFirst = 0
		}
	}
	for i := 1; i <= n; i++ {
		text := p.lineText(i)
		if lx.atTop() {
			it, err := topLevelItem(text, i)
			if err != nil {
				return nil, err
			}
			if it != nil {
				flush(i - 1)
				pieces = append(pieces, piece{item: it})
				continue
			}
		}
		if goFirst == 0 {
			goFirst = i
		}
		lx.line(text, i)
	}
	flush(n)
	return pieces, nil
}

// topLevelItem returns the LineMagic or Help item that line i (text, as
// it is in the cell) is when it starts at the top level, and nil when it
// is a Go line.
func topLevelItem(text string, i int) (*Item, error) {
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "%") {
		return lineMagic(text, i)
	}
	if m := helpRE.FindStringSubmatch(t); m != nil && (m[1] != "" || m[3] != "") && (m[1] == "" || m[3] == "") {
		detail := 0
		if len(m[1]) == 2 || len(m[3]) == 2 {
			detail = 1
		}
		return &Item{Kind: Help, Source: m[2], Line: i, Detail: detail}, nil
	}
	return nil, nil
}

// lineMagic returns the item of a %name args line i: a LineMagic item, or
// a Help item for %name? and %name??. A %%name line there is an error:
// cell magics belong on the first line.
func lineMagic(text string, i int) (*Item, error) {
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "%%") {
		return nil, &SyntaxError{Line: i, Col: strings.Index(text, "%") + 1,
			Msg: "a cell magic (" + strings.Fields(t)[0] + ") must be on the first line of the cell"}
	}
	m, err := parseMagic(text, i)
	if err != nil {
		return nil, err
	}
	if name, ok := strings.CutSuffix(m.Name, "?"); ok && m.Args == "" {
		detail := 0
		if n2, ok := strings.CutSuffix(name, "?"); ok {
			name, detail = n2, 1
		}
		return &Item{Kind: Help, Source: "%" + name, Line: i, Detail: detail}, nil
	}
	return &Item{Kind: LineMagic, Source: t, Line: i, Magic: m}, nil
}

// parseMagic parses a %name args or %%name args line, text as it is in
// the cell (leading spaces included), recording the column where the
// arguments start.
func parseMagic(text string, line int) (*Magic, error) {
	t := strings.TrimLeft(text, " \t")
	lead := len(text) - len(t)
	rest := strings.TrimLeft(t, "%")
	nameAt := lead + len(t) - len(rest)
	end := strings.IndexAny(rest, " \t")
	if end < 0 {
		end = len(rest)
	}
	name := rest[:end]
	args := strings.TrimLeft(rest[end:], " \t")
	if name == "" {
		return nil, &SyntaxError{Line: line, Col: lead + 1, Msg: "a magic needs a name, as in %timeit"}
	}
	return &Magic{Name: name, Args: strings.TrimRight(args, " \t\r\n"), Line: line,
		ArgsCol: nameAt + len(rest) - len(args) + 1}, nil
}

// unit is one top-level declaration or statement: the tokens between two
// top-level semicolons.
type unit struct {
	start, end int         // offsets in the cell of its first and last token's end
	tok, next  token.Token // its first two tokens
}

// goLines splits the Go lines first..last into items. last says whether
// they are the cell's last piece (so that a trailing expression is one).
func (p *cellParser) goLines(first, last int, lastPiece bool) error {
	segStart := p.lineStarts[first-1]
	segEnd := len(p.src)
	if last < len(p.lineStarts) {
		segEnd = p.lineStarts[last]
	}
	units, err := p.scanUnits(segStart, segEnd)
	if err != nil {
		return err
	}
	g := itemGrouper{p: p, decl: -1}
	prevEnd := segStart // end of the previous unit's text
	for k, u := range units {
		var t unitText
		t.start, t.pad = p.unitTextStart(u.start, prevEnd)
		t.end = p.unitTextEnd(u.end, segEnd)
		prevEnd = t.end
		t.line, _ = p.position(t.start)
		t.text = strings.Repeat(" ", t.pad) + p.src[t.start:t.end]
		if err := g.add(u, t, lastPiece && k == len(units)-1); err != nil {
			return err
		}
	}
	return nil
}

// scanUnits scans the cell's text from segStart to segEnd into its
// top-level units, returning the first scanning error as a *SyntaxError.
func (p *cellParser) scanUnits(segStart, segEnd int) ([]unit, error) {
	seg := p.src[segStart:segEnd]
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(seg))
	var serr *SyntaxError
	var s scanner.Scanner
	s.Init(file, []byte(seg), func(pos token.Position, msg string) {
		if serr == nil {
			serr = &SyntaxError{Msg: msg}
			serr.Line, serr.Col = p.position(segStart + pos.Offset)
		}
	}, 0)
	var units []unit
	var cur *unit
	var nest nesting
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if nest.endsUnit(tok, lit) {
			cur = nil
			continue
		}
		nest.step(tok)
		off := segStart + file.Offset(pos)
		end := tokenEnd(off, tok, lit)
		if cur == nil {
			units = append(units, unit{start: off, end: end, tok: tok, next: token.ILLEGAL})
			cur = &units[len(units)-1]
			continue
		}
		if cur.next == token.ILLEGAL {
			cur.next = tok
		}
		if end > cur.end {
			cur.end = end
		}
	}
	if serr != nil {
		return nil, serr
	}
	return units, nil
}

// nesting follows the scanned tokens' bracket depth, to find the
// semicolons that end a top-level unit.
type nesting struct {
	depth int
	// header is set between for, if or switch and the opening brace of
	// its block, where semicolons do not end the statement.
	header bool
}

// endsUnit reports whether tok (with literal lit) is a semicolon that ends
// a top-level unit.
func (n *nesting) endsUnit(tok token.Token, lit string) bool {
	if tok == token.SEMICOLON && n.depth == 0 && !(n.header && lit == ";") {
		n.header = false
		return true
	}
	return false
}

// step follows tok, a token that does not end a unit.
func (n *nesting) step(tok token.Token) {
	switch tok {
	case token.FOR, token.IF, token.SWITCH:
		if n.depth == 0 {
			n.header = true
		}
	case token.LBRACE:
		if n.depth == 0 {
			n.header = false
		}
		n.depth++
	case token.LPAREN, token.LBRACK:
		n.depth++
	case token.RPAREN, token.RBRACK, token.RBRACE:
		if n.depth > 0 {
			n.depth--
		}
	}
}

// tokenEnd returns the offset in the cell of the end of a token at off.
func tokenEnd(off int, tok token.Token, lit string) int {
	if tok == token.SEMICOLON {
		if lit == ";" {
			return off + 1
		}
		return off // an inserted semicolon has no text
	}
	if lit == "" {
		return off + len(tok.String())
	}
	return off + len(lit)
}

// unitText is the text of a unit's item: src[start:end] of the cell,
// padded with pad spaces, starting on line.
type unitText struct {
	start, end, pad int
	line            int
	text            string
}

// itemGrouper turns the units of a run of Go lines into items, joining
// adjacent declarations and consecutive statements.
type itemGrouper struct {
	p                    *cellParser
	group                *Item // the Statement item being grown
	groupStart, groupPad int   // where group's text starts, and its padding
	decl                 int   // index of the last Declaration item, -1: none
	declStart, declPad   int   // where its text starts, and its padding
}

// add turns unit u, whose text is t, into an item or adds it to the
// previous one. final says whether u is the cell's last unit.
func (g *itemGrouper) add(u unit, t unitText, final bool) error {
	p := g.p
	switch u.tok {
	case token.PACKAGE:
		// A pasted file's package clause: cells have no package.
		if u.next == token.IDENT && u.end-u.start < 200 && !strings.Contains(p.src[u.start:u.end], "\n") {
			g.group = nil
			return nil
		}
	case token.RBRACE, token.RPAREN, token.RBRACK:
		l, c := p.position(u.start)
		return &SyntaxError{Line: l, Col: c, Msg: "unexpected " + u.tok.String()}
	case token.IMPORT, token.TYPE, token.CONST, token.VAR, token.FUNC:
		done, err := g.addDecl(u, t)
		if done || err != nil {
			return err
		}
		// A func literal: a statement such as func() { ... }().
	}
	return g.addStmt(t, final)
}

// addDecl adds the declaration u, whose text is t, joining it to a
// directly preceding Declaration item. It reports false, with no error,
// when u is a func literal, a statement.
func (g *itemGrouper) addDecl(u unit, t unitText) (bool, error) {
	p := g.p
	it, err := parseDecl(p.fset, t.text, t.line)
	if err != nil {
		if u.tok != token.FUNC || u.next == token.IDENT {
			return false, err
		}
		return false, nil
	}
	g.group = nil
	if it.Kind == Declaration && g.decl >= 0 && g.decl == len(p.items)-1 {
		// Adjacent declarations are one item, evaluated together, so
		// that they may refer to each other.
		d := &p.items[g.decl]
		d.Source = strings.Repeat(" ", g.declPad) + p.src[g.declStart:t.end]
		d.Decls = append(d.Decls, it.Decls...)
		d.Syntax.Decls = append(d.Syntax.Decls, it.Syntax.Decls...)
		return true, nil
	}
	p.items = append(p.items, it)
	if it.Kind == Declaration {
		g.decl, g.declStart, g.declPad = len(p.items)-1, t.start, t.pad
	}
	return true, nil
}

// addStmt adds the statement whose text is t to the Statement item being
// grown, or makes it the cell's trailing Expression item when final.
func (g *itemGrouper) addStmt(t unitText, final bool) error {
	p := g.p
	stmt, decls, err := parseStmt(p.fset, t.text, t.line)
	if err != nil {
		return err
	}
	if _, ok := stmt.(*ast.ExprStmt); ok && final {
		g.group = nil
		p.items = append(p.items, Item{Kind: Expression, Source: t.text, Line: t.line,
			Syntax: &Syntax{Fset: p.fset, Stmts: []ast.Stmt{stmt}}})
		return nil
	}
	if g.group == nil {
		p.items = append(p.items, Item{Kind: Statement, Source: t.text, Line: t.line, Syntax: &Syntax{Fset: p.fset}})
		g.group = &p.items[len(p.items)-1]
		g.groupStart, g.groupPad = t.start, t.pad
	} else {
		g.group.Source = strings.Repeat(" ", g.groupPad) + p.src[g.groupStart:t.end]
	}
	g.group.Syntax.Stmts = append(g.group.Syntax.Stmts, stmt)
	g.group.Decls = append(g.group.Decls, decls...)
	if len(decls) > 0 {
		// A top-level x := f() ends its item, so that what it declares
		// is kept when a later statement of the cell fails.
		g.group = nil
	}
	return nil
}

// unitTextStart finds where a unit's text starts: at the start of its
// line, including directly preceding // comment lines, when nothing else
// is on the line before it; otherwise at its first token, with pad spaces
// standing for the columns before it.
func (p *cellParser) unitTextStart(start, prevEnd int) (textStart, pad int) {
	line, col := p.position(start)
	ls := p.lineStarts[line-1]
	if strings.TrimSpace(p.src[ls:start]) != "" || ls < prevEnd {
		return start, col - 1
	}
	for line > 1 {
		prev := p.lineStarts[line-2]
		if prev < prevEnd || !strings.HasPrefix(strings.TrimSpace(p.lineText(line-1)), "//") {
			break
		}
		line--
	}
	return p.lineStarts[line-1], 0
}

// unitTextEnd extends a unit's end over the rest of its line when that is
// only blanks or a // comment.
func (p *cellParser) unitTextEnd(end, segEnd int) int {
	line, _ := p.position(end)
	lineEnd := len(p.src)
	if line < len(p.lineStarts) {
		lineEnd = p.lineStarts[line] - 1
	}
	if lineEnd > segEnd {
		lineEnd = segEnd
	}
	if end > lineEnd {
		return end
	}
	rest := strings.TrimSpace(p.src[end:lineEnd])
	if rest == "" || strings.HasPrefix(rest, "//") {
		return lineEnd
	}
	return end
}

// A wrapped parse puts the text on line 2 of a file (after a one-line
// head such as "package p"): file line 2 is cell line `line`.

// syntaxError converts a go/parser error of a wrapped parse into a
// *SyntaxError on cell lines. Positions past the text (an error found at a
// wrapper's closing brace) are moved to the end of the text.
func syntaxError(err error, text string, line int) *SyntaxError {
	maxLine := line + strings.Count(text, "\n")
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		e := list[0]
		se := &SyntaxError{Line: e.Pos.Line - 2 + line, Col: e.Pos.Column, Msg: e.Msg}
		if se.Line > maxLine {
			// At a wrapper's closing brace: the text ended too early.
			se.Line, se.Col = maxLine, len(text)-strings.LastIndex(text, "\n")
			se.Msg = strings.Replace(se.Msg, "found '}'", "found 'EOF'", 1)
		}
		if se.Line < line {
			se.Line, se.Col = line, 1
		}
		return se
	}
	return &SyntaxError{Line: line, Col: 1, Msg: err.Error()}
}

// parseDecl parses one top-level declaration.
func parseDecl(fset *token.FileSet, text string, line int) (Item, error) {
	f, err := parseWrapped(fset, declPrefix, text, "", line, parser.ParseComments)
	if err != nil {
		return Item{}, syntaxError(err, text, line)
	}
	if len(f.Decls) != 1 {
		return Item{}, &SyntaxError{Line: line, Col: 1, Msg: "expected one declaration"}
	}
	src := sourceOf{fset: fset, text: text, base: len(declPrefix)}
	it := Item{Kind: Declaration, Source: text, Line: line, Syntax: &Syntax{Fset: fset, Decls: f.Decls}}
	switch d := f.Decls[0].(type) {
	case *ast.FuncDecl:
		name := d.Name.Name
		kind := FuncDecl
		if d.Recv != nil && len(d.Recv.List) > 0 {
			name = ReceiverBase(d.Recv.List[0].Type) + "." + name
			kind = MethodDecl
		}
		start := d.Pos()
		if d.Doc != nil {
			start = d.Doc.Pos()
		}
		it.Decls = []Decl{{Kind: kind, Name: name, Source: src.slice(start, d.End()), Line: src.line(start)}}
	case *ast.GenDecl:
		if d.Tok == token.IMPORT {
			it.Kind = Import
		}
		it.Decls = genDecls(d, src)
	}
	return it, nil
}

// sourceOf maps positions of a wrapped parse back to the text.
type sourceOf struct {
	fset *token.FileSet
	text string
	base int // length of the wrapper before text
}

func (s sourceOf) off(pos token.Pos) int { return s.fset.File(pos).Offset(pos) - s.base }

func (s sourceOf) slice(from, to token.Pos) string { return s.text[s.off(from):s.off(to)] }

func (s sourceOf) line(pos token.Pos) int { return s.fset.Position(pos).Line }

// genDecls lists what an import, type, const or var declaration declares.
// A declaration that is not grouped is kept whole; a grouped one is split
// into one declaration per spec (with its doc comment), except const
// groups, kept whole because iota and implicit repetition tie their specs
// together. Names of a multi-name spec share one Source.
func genDecls(d *ast.GenDecl, src sourceOf) []Decl {
	whole := func() (string, int) {
		start := d.Pos()
		if d.Doc != nil {
			start = d.Doc.Pos()
		}
		return src.slice(start, d.End()), src.line(start)
	}
	specSource := func(doc *ast.CommentGroup, spec ast.Spec) (string, int) {
		if !d.Lparen.IsValid() {
			return whole()
		}
		s := d.Tok.String() + " " + src.slice(spec.Pos(), spec.End())
		if doc != nil {
			return src.slice(doc.Pos(), doc.End()) + "\n" + s, src.line(doc.Pos())
		}
		return s, src.line(spec.Pos())
	}
	var out []Decl
	switch d.Tok {
	case token.IMPORT:
		for _, spec := range d.Specs {
			is := spec.(*ast.ImportSpec)
			path, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				continue
			}
			out = append(out, Decl{Kind: ImportDecl, Name: path,
				Source: "import " + src.slice(is.Pos(), is.End()), Line: src.line(is.Pos())})
		}
	case token.TYPE:
		for _, spec := range d.Specs {
			ts := spec.(*ast.TypeSpec)
			s, line := specSource(ts.Doc, ts)
			out = append(out, Decl{Kind: TypeDecl, Name: ts.Name.Name, Source: s, Line: line})
		}
	case token.CONST:
		s, line := whole()
		for _, spec := range d.Specs {
			for _, n := range spec.(*ast.ValueSpec).Names {
				if n.Name != "_" {
					out = append(out, Decl{Kind: ConstDecl, Name: n.Name, Source: s, Line: line})
				}
			}
		}
	case token.VAR:
		for _, spec := range d.Specs {
			vs := spec.(*ast.ValueSpec)
			s, line := specSource(vs.Doc, vs)
			for _, n := range vs.Names {
				if n.Name != "_" {
					out = append(out, Decl{Kind: VarDecl, Name: n.Name, Source: s, Line: line})
				}
			}
		}
	}
	return out
}

// ReceiverBase returns the base type name of a method receiver: T for T,
// *T, T[K] and *T[K, V]; "?" for anything else.
func ReceiverBase(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return "?"
		}
	}
}

// parseStmt parses one top-level statement and returns what a top-level
// x := f() in it declares.
func parseStmt(fset *token.FileSet, text string, line int) (ast.Stmt, []Decl, error) {
	f, err := parseWrapped(fset, stmtPrefix, text, stmtSuffix, line, 0)
	if err != nil {
		return nil, nil, syntaxError(err, text, line)
	}
	body := f.Decls[0].(*ast.FuncDecl).Body.List
	if len(body) != 1 {
		return nil, nil, &SyntaxError{Line: line, Col: 1, Msg: "expected one statement"}
	}
	stmt := body[0]
	as, ok := stmt.(*ast.AssignStmt)
	if !ok || as.Tok != token.DEFINE {
		return stmt, nil, nil
	}
	src := sourceOf{fset: fset, text: text, base: len(stmtPrefix)}
	source := "var " + src.slice(as.Lhs[0].Pos(), as.Lhs[len(as.Lhs)-1].End()) +
		" = " + src.slice(as.Rhs[0].Pos(), as.Rhs[len(as.Rhs)-1].End())
	var decls []Decl
	for _, e := range as.Lhs {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			decls = append(decls, Decl{Kind: VarDecl, Name: id.Name, Source: source, Line: src.line(as.Pos())})
		}
	}
	return stmt, decls, nil
}

func isKeyword(s string) bool { return token.IsKeyword(s) }
