package check

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// run checks the assembled program of a full check in a new package;
// names are the package-level names it declares.
func (c *Checker) run(ctx context.Context, b *builder, names []string) (*Program, error) {
	declared := map[string]bool{}
	for _, n := range names {
		declared[n] = true
	}
	b.autoImports(ctx, func(name string) bool { return declared[name] || c.vars[name] != nil })
	info := c.newInfo(c.infoSize[0], c.infoSize[1])
	pkg := c.mainPackage(declared)
	if !c.typeCheck(ctx, b, pkg, info) {
		b.diag(b.first, "internal error: the type checker failed on this cell")
	}
	c.infoSize = [2]int{len(info.Types), len(info.Uses)}
	b.useOfBroken(pkg, info)
	if err := b.err(); err != nil {
		return nil, err
	}
	return c.checked(b, pkg, info), nil
}

// autoImports adds to the program's imports the standard packages that
// the syntax uses by a name (strings.ToUpper) that is neither imported
// nor declared, as the interpreter imports them on first use, and reads
// the export data of every import.
func (b *builder) autoImports(ctx context.Context, declared func(string) bool) {
	var paths []string
	for _, s := range b.imports {
		if p, err := strconv.Unquote(s.Path.Value); err == nil {
			paths = append(paths, p)
		}
	}
	sels := make([]string, 0, len(b.sels))
	for s := range b.sels {
		sels = append(sels, s)
	}
	sort.Strings(sels)
	for _, name := range sels {
		if _, imported := b.byName[name]; imported || declared(name) {
			continue
		}
		if p, ok := b.c.autoImport(name); ok {
			b.importSpec(&ast.ImportSpec{Name: ast.NewIdent(name), Path: &ast.BasicLit{Kind: token.STRING, Value: strconv.Quote(p)}})
			paths = append(paths, p)
		}
	}
	_ = b.c.im.Resolve(ctx, paths...) // each failing import is reported by the check
}

// newInfo returns a types.Info that records what the checker's programs
// need, its maps sized for types and uses entries.
func (c *Checker) newInfo(types_, uses int) *types.Info {
	return &types.Info{
		Types:      make(map[ast.Expr]types.TypeAndValue, types_),
		Uses:       make(map[*ast.Ident]types.Object, uses),
		Defs:       make(map[*ast.Ident]types.Object, uses/4),
		Selections: make(map[*ast.SelectorExpr]*types.Selection, uses/8),
		Instances:  map[*ast.Ident]types.Instance{},
	}
}

// typeCheck checks the builder's file into pkg with a new types.Checker,
// recording into info. It reports false when go/types panicked (it
// assumes every package-level object it meets was declared by the same
// Checker, which an incremental check may contradict).
func (c *Checker) typeCheck(ctx context.Context, b *builder, pkg *types.Package, info *types.Info) (ok bool) {
	file := b.file()
	conf := types.Config{
		Importer: importerFunc(func(p string) (*types.Package, error) {
			return c.im.importContext(ctx, p)
		}),
		Sizes: c.sizes,
		Error: func(err error) { b.report(err) },
	}
	defer func() {
		if r := recover(); r != nil {
			ok = false
		}
	}()
	_ = types.NewChecker(&conf, c.fset, pkg, info).Files([]*ast.File{file})
	return true
}

// err returns the errors found in the cell, in order of position, at
// most maxDiags of them; nil when there are none.
func (b *builder) err() error {
	if len(b.diags) == 0 {
		return nil
	}
	sort.SliceStable(b.diags, func(i, j int) bool {
		x, y := b.diags[i], b.diags[j]
		return x.Line < y.Line || x.Line == y.Line && x.Col < y.Col
	})
	if len(b.diags) > maxDiags {
		b.diags = append(b.diags[:maxDiags], Diag{Cell: b.count, Line: b.diags[maxDiags].Line, Col: b.diags[maxDiags].Col, Msg: "too many errors"})
	}
	return &Error{Diags: b.diags}
}

// checked returns the program of a cell that checked, and keeps it as
// the last one; the variables given with SetVar that the cell declares
// again are forgotten.
func (c *Checker) checked(b *builder, pkg *types.Package, info *types.Info) *Program {
	prog := &Program{Pkg: pkg, Info: info, fset: c.fset, anchor: b.anchor, im: c.im, autoImport: c.autoImport, c: c, count: b.count}
	c.mu.Lock()
	c.last = prog
	c.mu.Unlock()
	for n := range b.defined {
		delete(c.vars, n)
	}
	for _, d := range b.decls {
		if f, ok := d.(*ast.FuncDecl); ok && f.Recv == nil {
			delete(c.vars, f.Name.Name)
		}
	}
	return prog
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// mainPackage returns the package to check the program in: its scope
// holds the variables given with SetVar that no declaration replaced
// (their types come from reflection, with no syntax to declare them).
func (c *Checker) mainPackage(declared map[string]bool) *types.Package {
	pkg := types.NewPackage("main", "main")
	for n, t := range c.vars {
		if !declared[n] {
			pkg.Scope().Insert(types.NewVar(token.NoPos, pkg, n, t))
		}
	}
	return pkg
}

// file makes the program's one file: imports, declarations and the body
// of the cell's statements. Its scope spans the whole file set, and an
// anchor file past everything gives a position in the file scope.
func (b *builder) file() *ast.File {
	var decls []ast.Decl
	if len(b.imports) > 0 {
		g := &ast.GenDecl{Tok: token.IMPORT, Lparen: 1, Rparen: 1}
		for _, s := range b.imports {
			g.Specs = append(g.Specs, s)
		}
		decls = append(decls, g)
	}
	decls = append(decls, b.decls...)
	if len(b.body) > 0 {
		start, end := b.body[0].Pos(), b.body[len(b.body)-1].End()
		decls = append(decls, &ast.FuncDecl{
			Name: ast.NewIdent("_"),
			Type: &ast.FuncType{Func: start, Params: &ast.FieldList{}},
			Body: &ast.BlockStmt{Lbrace: start, List: b.body, Rbrace: end},
		})
	}
	anchor := b.c.fset.AddFile("", -1, 1)
	b.anchor = token.Pos(anchor.Base())
	// go/types gives the file scope the extent of the file of Package.
	return &ast.File{Package: b.anchor, Name: ast.NewIdent("main"), Decls: decls, FileStart: b.anchor, FileEnd: b.anchor + 1}
}

// report keeps an error of the check that lies in the cell.
func (b *builder) report(err error) {
	te, ok := err.(types.Error)
	if !ok {
		b.diags = append(b.diags, Diag{Cell: b.count, Line: 1, Col: 1, Msg: err.Error()})
		return
	}
	if strings.Contains(te.Msg, "imported and not used") || strings.Contains(te.Msg, "and not used") && strings.Contains(te.Msg, "imported as") {
		return
	}
	if b.locals[te.Pos] != nil && strings.HasPrefix(te.Msg, "declared and not used") {
		return // a variable redefined as a local of the check (see planVar)
	}
	if strings.HasPrefix(te.Msg, "\t") {
		// The continuation of the previous error (other declaration of x).
		if n := len(b.diags); n > 0 && b.lastKept {
			b.diags[n-1].Msg += "\n\t" + b.where(te.Pos) + strings.TrimPrefix(te.Msg, "\t")
		}
		return
	}
	b.lastKept = false
	file := b.c.fset.File(te.Pos)
	cellNo, ok := b.files[file]
	if te.Pos.IsValid() && (!ok || cellNo != b.count) {
		// In an earlier cell's declaration, which no longer compiles
		// after a redefinition: an error only for a cell that uses it.
		for _, n := range b.declNames[file] {
			if _, seen := b.broken[n]; !seen {
				b.broken[n] = b.where(te.Pos) + te.Msg
			}
		}
		return
	}
	if strings.HasSuffix(te.Msg, " is not used") && b.shown(te.Pos) {
		return // the cell's value, which the notebook shows
	}
	if n, ok := b.defines[te.Pos]; ok && n == 1 {
		if m := multiValue.FindStringSubmatch(te.Msg); m != nil {
			// As the compiler words it for x := f() in a function.
			te.Msg = fmt.Sprintf("assignment mismatch: 1 variable but %s returns %d values", m[1], strings.Count(m[2], ",")+1)
		}
	}
	pos := te.Pos
	if !pos.IsValid() {
		pos = b.first
	}
	b.lastKept = true
	b.diag(pos, te.Msg)
}

// useOfBroken reports the cell's uses of earlier declarations that no
// longer compile.
func (b *builder) useOfBroken(pkg *types.Package, info *types.Info) {
	if len(b.broken) == 0 || pkg == nil {
		return
	}
	reported := map[string]bool{}
	for _, n := range b.nodes {
		ast.Inspect(n, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			if !ok {
				return true
			}
			obj := info.Uses[id]
			if obj == nil || obj.Parent() != pkg.Scope() {
				return true
			}
			if why, ok := b.broken[id.Name]; ok && !reported[id.Name] {
				b.diag(id.Pos(), fmt.Sprintf("%s no longer compiles: %s", id.Name, why))
				reported[id.Name] = true
			}
			return true
		})
	}
}

// multiValue matches go/types' error for a package-level var x = f()
// where f has several results.
var multiValue = regexp.MustCompile(`^multiple-value ([^(]+)\(.*\) \(value of type \((.*)\)\) in single-value context$`)

// shown reports whether pos lies in an expression whose value the cell
// shows.
func (b *builder) shown(pos token.Pos) bool {
	for _, e := range b.exprs {
		if e.Pos() <= pos && pos < e.End() {
			return true
		}
	}
	return false
}

// where formats pos as In[N]:line:col: , or "" when it is not in a cell.
func (b *builder) where(pos token.Pos) string {
	cellNo, ok := b.files[b.c.fset.File(pos)]
	if !ok || !pos.IsValid() {
		return ""
	}
	p := b.c.fset.Position(pos)
	return Diag{Cell: cellNo, Line: p.Line, Col: p.Column}.String()
}
