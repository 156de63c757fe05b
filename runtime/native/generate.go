package native

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/scanner"
	"go/token"
	"go/types"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/stdpkg"
)

// GeneratedFile is the name of the test file Generate's source is written
// to in a workspace; positions outside cell code refer to it.
const GeneratedFile = "cell_test.go"

// The import paths of the workspace's own packages, and the path under
// which cells import perfnb's display package in the interpreter.
const (
	harnessPath       = "perfnbcell/harness"
	displayPath       = "perfnbcell/display"
	interpDisplayPath = "perfnb/display"
)

// generate returns the source of the test file for p: a package main
// _test.go file holding the declarations the benchmarks need and one
// BenchmarkName function per benchmark.
//
// Rules, so that any code the interpreter accepted also builds here:
//   - Only the stored declarations the benchmarks use, directly or through
//     other declarations, are compiled (with the methods of the types they
//     use, and every init function and blank var). An unused declaration
//     costs nothing: its initialiser does not run in the child.
//   - Imports are those the code uses: the store's import declarations,
//     and standard-library packages referred to by name but never imported,
//     which the interpreter imports on first use (runtime/stdpkg). Unused
//     imports are dropped, so the build cannot fail with "imported and not
//     used".
//   - Code that calls perfnb's display package (display.HTML(...) and so on,
//     which only exists in the interpreter) builds against a no-op stub in
//     the workspace: showing output is not what is measured.
//   - Variables that setup or body declare at their top level are used
//     after them (_ = x), so "declared and not used" cannot happen, and an
//     expression statement that is not a call (x*y, s[i], len(s), a
//     conversion) is assigned to the blank identifier (_ = len(s)), so that
//     it is legal. The loop is for b.Loop(), and the compiler keeps the
//     results of the assignments and calls in its body alive (Go 1.24's
//     bloop pass: _ = e becomes a temporary passed to runtime.KeepAlive),
//     so the value is not optimised away and nothing is added to the loop
//     that a hand-written benchmark with a package-level sink does not do.
//   - Every piece of cell code is preceded by a //line directive, so that
//     compiler errors, panics and profiles name cell lines (In[3]:5:2).
//
// A syntax error in a snippet or declaration is returned with the cell
// position it occurs at.
func generate(p Program) ([]byte, error) {
	g, err := newGenerator(p, nil)
	if err != nil {
		return nil, err
	}
	return g.emit(), nil
}

// newGenerator parses the program, with the declarations parsed before
// in parsed (nil for none), and selects the declarations it needs.
func newGenerator(p Program, parsed *declCache) (*generator, error) {
	g := &generator{
		declByName: map[string][]int{},
		methodsOf:  map[string][]int{},
		typeNames:  map[string]bool{},
		parsed:     parsed,
	}
	if err := g.parseDecls(p.Decls); err != nil {
		return nil, err
	}
	for _, bm := range p.Benchmarks {
		if err := g.addBenchmark(bm); err != nil {
			return nil, err
		}
	}
	g.selectDecls()
	return g, nil
}

// declInfo is a declaration of the store in one generated program.
type declInfo struct {
	*parsedDecl
	used bool // the program needs it
}

// parsedDecl is a parsed declaration of the store and what generation
// reads of it. It is not changed once made, so that the programs of
// later magics and cells share it (see declCache).
type parsedDecl struct {
	decl      cell.Decl
	parsed    string           // the source that file was parsed from
	file      *ast.File        // the declaration parsed from parsed
	fset      *token.FileSet   // positions of file
	specs     []*ast.ValueSpec // for var declarations
	imports   []importInfo     // for import declarations
	names     []string         // package-level names it declares
	typeNames []string         // the types among names
	recv      string           // receiver base type, for methods
	always    bool             // init functions and blank vars
	refs      []string         // unresolved identifiers it uses
	sels      []string         // unresolved identifiers used as X in X.Sel
}

// declCache keeps the parsed declarations of the store between the
// programs a workspace generates, so that a magic or a compiled cell
// parses only the declarations that are new since the last one: its cost
// follows what changed, not the notebook's size. It holds the
// declarations of the last program only. A nil *declCache parses every
// time. It is safe for concurrent use.
type declCache struct {
	mu     sync.Mutex
	parsed map[string]*parsedDecl
}

// get returns the parsed declaration d, whose key is key.
func (c *declCache) get(key string, d cell.Decl) (*parsedDecl, error) {
	if c == nil {
		return parseDecl(d)
	}
	c.mu.Lock()
	pd, ok := c.parsed[key]
	c.mu.Unlock()
	if ok {
		return pd, nil
	}
	pd, err := parseDecl(d)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.parsed == nil {
		c.parsed = map[string]*parsedDecl{}
	}
	c.parsed[key] = pd
	c.mu.Unlock()
	return pd, nil
}

// keep forgets the declarations whose keys are not in seen, once the
// cache holds twice as many as seen: declarations that were replaced.
func (c *declCache) keep(seen map[string]bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.parsed) <= 2*len(seen)+64 {
		return
	}
	for k := range c.parsed {
		if !seen[k] {
			delete(c.parsed, k)
		}
	}
}

type importInfo struct {
	name string // local name: explicit or the package's default name
	spec string // the import spec as Go source: `name "path"` or `"path"`
	path string
}

// benchCode is a benchmark ready to print.
type benchCode struct {
	name          string
	param         string
	setup, body   *snippetCode
	before, after string
}

// snippetCode is a cell snippet rewritten for the benchmark.
type snippetCode struct {
	sn       Snippet
	text     string   // rewritten source
	declared []string // names declared at the snippet's top level
	refs     []string // unresolved identifiers
	sels     []string // unresolved identifiers used as X in X.Sel
	hasB     bool     // mentions an identifier named b
}

type generator struct {
	decls      []*declInfo
	declByName map[string][]int // package-level name -> indexes in decls
	methodsOf  map[string][]int // receiver type -> method decl indexes
	typeNames  map[string]bool  // types declared in the store
	parsed     *declCache       // the workspace's, or nil
	benches    []*benchCode
	// carried maps the variables that take the notebook's values to
	// their types as Go source, in the generated file's terms, and
	// carriedTypes to their types; see carry.go.
	carried      map[string]string
	carriedTypes map[string]types.Type
	// cell is the compiled cell of a CellProgram (cell.go), nil for a
	// magic's benchmarks.
	cell *cellCode
}

func lineDirective(file string, line, col int) string {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	return fmt.Sprintf("//line %s:%d:%d", file, line, col)
}

// parseErr turns a go/parser error into one whose lines read
// In[3]:5:2: message.
func parseErr(err error) error {
	var list scanner.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	var lines []string
	for i, e := range list {
		if i == 10 {
			lines = append(lines, "too many errors")
			break
		}
		lines = append(lines, fmt.Sprintf("%s: %s", e.Pos, e.Msg))
	}
	return &Error{Kind: CompileFailed, Summary: "syntax error: " + lines[0], Lines: lines}
}

func (g *generator) parseDecls(decls []cell.Decl) error {
	seen := map[string]bool{}
	for _, d := range decls {
		key := declKey(d)
		if seen[key] {
			continue // one declaration stored under several names
		}
		seen[key] = true
		pd, err := g.parsed.get(key, d)
		if err != nil {
			return err
		}
		i := len(g.decls)
		g.decls = append(g.decls, &declInfo{parsedDecl: pd})
		for _, n := range pd.names {
			g.declByName[n] = append(g.declByName[n], i)
		}
		for _, n := range pd.typeNames {
			g.typeNames[n] = true
		}
		if pd.recv != "" {
			g.methodsOf[pd.recv] = append(g.methodsOf[pd.recv], i)
		}
	}
	g.parsed.keep(seen)
	return nil
}

// declKey identifies a stored declaration by its text and position: a
// declaration that is the same is parsed once.
func declKey(d cell.Decl) string { return fmt.Sprintf("%d:%d:%s", d.Cell, d.Line, d.Source) }

// parseDecl parses a stored declaration and reads what generation needs
// of it.
func parseDecl(d cell.Decl) (*parsedDecl, error) {
	fset := token.NewFileSet()
	src := "package p\n" + cell.Pos{Cell: d.Cell, Line: d.Line}.Directive() + "\n" + d.Source + "\n"
	f, err := parser.ParseFile(fset, "decl.go", src, 0)
	if err != nil {
		return nil, parseErr(err)
	}
	pd := &parsedDecl{decl: d, parsed: src, file: f, fset: fset}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		quoted := imp.Path.Value
		if p == interpDisplayPath {
			p, quoted = displayPath, strconv.Quote(displayPath)
		}
		ii := importInfo{name: defaultName(p), spec: quoted, path: p}
		if imp.Name != nil {
			ii.name = imp.Name.Name
			ii.spec = imp.Name.Name + " " + quoted
		}
		pd.imports = append(pd.imports, ii)
	}
	for _, decl := range f.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			if decl.Recv != nil && len(decl.Recv.List) > 0 {
				pd.recv = cell.ReceiverBase(decl.Recv.List[0].Type)
			} else if decl.Name.Name == "init" {
				pd.always = true
			} else {
				pd.names = append(pd.names, decl.Name.Name)
			}
		case *ast.GenDecl:
			pd.addSpecs(decl)
		}
	}
	pd.refs, pd.sels = unresolved(f)
	return pd, nil
}

// addSpecs records the names, types and variables a general declaration
// declares.
func (pd *parsedDecl) addSpecs(decl *ast.GenDecl) {
	for _, spec := range decl.Specs {
		switch spec := spec.(type) {
		case *ast.TypeSpec:
			pd.names = append(pd.names, spec.Name.Name)
			pd.typeNames = append(pd.typeNames, spec.Name.Name)
		case *ast.ValueSpec:
			if decl.Tok == token.VAR {
				pd.specs = append(pd.specs, spec)
			}
			for _, n := range spec.Names {
				if n.Name == "_" {
					pd.always = true
				} else {
					pd.names = append(pd.names, n.Name)
				}
			}
		}
	}
}

// defaultName guesses the name a package is imported under from its path:
// the last element, without a /vN suffix, up to a dot or a dash.
func defaultName(p string) string {
	base := stdpkg.Name(p)
	if i := strings.IndexAny(base, ".-"); i > 0 {
		base = base[:i]
	}
	return base
}

// unresolved lists the identifiers of f that do not refer to a declaration
// inside f, and those of them used as the X of a selector X.Sel (package
// names, if they are not package-level variables).
func unresolved(f *ast.File) (refs, sels []string) {
	seen := map[string]bool{}
	for _, id := range f.Unresolved {
		if !seen[id.Name] {
			seen[id.Name] = true
			refs = append(refs, id.Name)
		}
	}
	seenSel := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := s.X.(*ast.Ident); ok && id.Obj == nil && !seenSel[id.Name] {
				seenSel[id.Name] = true
				sels = append(sels, id.Name)
			}
		}
		return true
	})
	return refs, sels
}

// parseStmts parses Go statements as the body of a function. With a
// snippet, positions are those of the cell.
func parseStmts(src string, sn *Snippet) (*token.FileSet, *ast.File, *ast.BlockStmt, int, error) {
	prefix := "package p\nfunc _() {\n"
	if sn != nil {
		prefix += cell.Pos{Cell: sn.Cell, Line: sn.Line, Col: sn.Col}.Directive() + "\n"
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "snippet.go", prefix+src+"\n}\n", parser.ParseComments)
	if err != nil {
		return nil, nil, nil, 0, parseErr(atSnippetEnd(err, src, sn))
	}
	body := f.Decls[0].(*ast.FuncDecl).Body
	return fset, f, body, len(prefix), nil
}

// atSnippetEnd places the syntax errors that the parser found past the end
// of a snippet (in the function around it: "expected operand, found '}'"
// for "f(") at its end, as found there: the user's code ended early. The
// first such error is kept.
func atSnippetEnd(err error, src string, sn *Snippet) error {
	var list scanner.ErrorList
	if sn == nil || !errors.As(err, &list) {
		return err
	}
	lines := strings.Split(src, "\n")
	end := token.Position{Filename: cell.File(sn.Cell), Line: sn.Line + len(lines) - 1, Column: len(lines[len(lines)-1]) + 1}
	if len(lines) == 1 {
		end.Column += max(sn.Col, 1) - 1
	}
	var out scanner.ErrorList
	past := false
	for _, e := range list {
		if e.Pos.Filename == end.Filename && e.Pos.Line <= end.Line {
			out = append(out, e)
			continue
		}
		if !past {
			past = true
			msg := strings.NewReplacer("found '}'", "found the end of the code", "found 'EOF'", "found the end of the code").Replace(e.Msg)
			out = append(out, &scanner.Error{Pos: end, Msg: msg})
		}
	}
	return out
}

// edit replaces text[start:end] (offsets in the snippet) with repl.
type edit struct {
	start, end int
	repl       string
}

// prepareSnippet rewrites a cell snippet: expression statements that are not
// legal as statements are assigned to the blank identifier, and the names
// declared at its top level are recorded.
func (g *generator) prepareSnippet(sn Snippet) (*snippetCode, error) {
	sc := &snippetCode{sn: sn}
	if strings.TrimSpace(sn.Source) == "" {
		return sc, nil
	}
	fset, f, body, base, err := parseStmts(sn.Source, &sn)
	if err != nil {
		return nil, err
	}
	file := cell.File(sn.Cell)
	for _, st := range body.List {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, l := range st.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
						sc.declared = append(sc.declared, id.Name)
					}
				}
			}
		case *ast.DeclStmt:
			if gd, ok := st.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
				for _, spec := range gd.Specs {
					for _, id := range spec.(*ast.ValueSpec).Names {
						if id.Name != "_" {
							sc.declared = append(sc.declared, id.Name)
						}
					}
				}
			}
		}
	}
	var edits []edit
	ast.Inspect(body, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == "b" {
			sc.hasB = true
		}
		es, ok := n.(*ast.ExprStmt)
		if !ok || !g.needsKeep(es.X) {
			return true
		}
		startPos := fset.Position(es.X.Pos())
		start := fset.File(es.X.Pos()).Offset(es.X.Pos()) - base
		edits = append(edits, edit{start, start, "_ = /*line " + fmt.Sprintf("%s:%d:%d", file, startPos.Line, startPos.Column) + "*/"})
		return true
	})
	text := sn.Source
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	for _, e := range edits {
		text = text[:e.start] + e.repl + text[e.end:]
	}
	sc.text = text
	sc.refs, sc.sels = unresolved(f)
	return sc, nil
}

// builtinValue reports whether name is a built-in function whose call is
// not a legal statement.
func builtinValue(name string) bool {
	switch name {
	case "append", "cap", "complex", "imag", "len", "make", "max", "min", "new", "real":
		return true
	}
	return false
}

// basicType reports whether name is a predeclared type (a call of one is a
// conversion).
func basicType(name string) bool {
	switch name {
	case "any", "bool", "byte", "complex64", "complex128", "error", "float32", "float64",
		"int", "int8", "int16", "int32", "int64", "rune", "string",
		"uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "comparable":
		return true
	}
	return false
}

// needsKeep reports whether an expression statement would be rejected by
// the compiler as unused: anything but a function call or a receive.
func (g *generator) needsKeep(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return g.needsKeep(e.X)
	case *ast.UnaryExpr:
		return e.Op != token.ARROW
	case *ast.CallExpr:
		fun := e.Fun
		for {
			p, ok := fun.(*ast.ParenExpr)
			if !ok {
				break
			}
			fun = p.X
		}
		switch f := fun.(type) {
		case *ast.Ident:
			return builtinValue(f.Name) || basicType(f.Name) || g.typeNames[f.Name]
		case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType,
			*ast.InterfaceType, *ast.StructType, *ast.StarExpr:
			return true
		case *ast.IndexExpr:
			id, ok := f.X.(*ast.Ident)
			return ok && g.typeNames[id.Name]
		}
		return false
	}
	return true
}

func (g *generator) addBenchmark(bm Benchmark) error {
	bc := &benchCode{name: bm.Name, param: "b", before: bm.BeforeLoop, after: bm.AfterLoop}
	var err error
	if bc.setup, err = g.prepareSnippet(bm.Setup); err != nil {
		return err
	}
	if bc.body, err = g.prepareSnippet(bm.Body); err != nil {
		return err
	}
	// The body sees the variables the setup declares: they are not free.
	setupNames := map[string]bool{}
	for _, n := range bc.setup.declared {
		setupNames[n] = true
	}
	bc.body.refs = without(bc.body.refs, setupNames)
	bc.body.sels = without(bc.body.sels, setupNames)
	if bc.setup.hasB || bc.body.hasB {
		bc.param = "perfnbB"
	}
	for _, part := range []*string{&bc.before, &bc.after} {
		if strings.TrimSpace(*part) == "" {
			continue
		}
		src, err := renameB(*part, bc.param)
		if err != nil {
			return fmt.Errorf("generated code around the loop does not parse: %w", err)
		}
		*part = src
	}
	g.benches = append(g.benches, bc)
	return nil
}

func without(names []string, drop map[string]bool) []string {
	var out []string
	for _, n := range names {
		if !drop[n] {
			out = append(out, n)
		}
	}
	return out
}

// renameB parses generated statements, renames the identifier b to param,
// and returns them printed again.
func renameB(src, param string) (string, error) {
	if param == "b" {
		return src, nil
	}
	fset, _, body, _, err := parseStmts(src, nil)
	if err != nil {
		return "", err
	}
	ast.Inspect(body, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == "b" {
			id.Name = param
		}
		return true
	})
	var buf bytes.Buffer
	for _, st := range body.List {
		if err := printer.Fprint(&buf, fset, st); err != nil {
			return "", err
		}
		buf.WriteByte('\n')
	}
	return buf.String(), nil
}

// roots returns what the benchmarks or the compiled cell use: unresolved
// identifiers and selector bases.
func (g *generator) roots() (refs, sels []string) {
	if g.cell != nil {
		refs = append(refs, g.cell.refs...)
		sels = append(sels, g.cell.sels...)
		sels = append(sels, harnessName)
	}
	for _, bc := range g.benches {
		refs = append(refs, bc.setup.refs...)
		refs = append(refs, bc.body.refs...)
		sels = append(sels, bc.setup.sels...)
		sels = append(sels, bc.body.sels...)
		for _, part := range []string{bc.before, bc.after} {
			if strings.TrimSpace(part) == "" {
				continue
			}
			if _, f, _, _, err := parseStmts(part, nil); err == nil {
				r, s := unresolved(f)
				refs = append(refs, r...)
				sels = append(sels, s...)
			}
		}
	}
	return refs, sels
}

// selectDecls marks the declarations the benchmarks need.
func (g *generator) selectDecls() {
	refs, _ := g.roots()
	var work []int
	use := func(i int) {
		if !g.decls[i].used {
			g.decls[i].used = true
			work = append(work, i)
		}
	}
	for i, d := range g.decls {
		if d.always {
			use(i)
		}
	}
	for _, r := range refs {
		for _, i := range g.declByName[r] {
			use(i)
		}
	}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		d := g.decls[i]
		for _, r := range d.refs {
			for _, j := range g.declByName[r] {
				use(j)
			}
		}
		for _, n := range d.names {
			for _, j := range g.methodsOf[n] {
				use(j)
			}
		}
	}
}

// imports returns the import specs the selected code needs.
func (g *generator) imports() []string {
	_, sels := g.roots()
	for _, d := range g.decls {
		if d.used {
			sels = append(sels, d.sels...)
		}
	}
	if len(g.benches) > 0 {
		sels = append(sels, "testing", "harness")
	}
	declared := map[string]bool{}
	for _, d := range g.decls {
		if d.used {
			for _, n := range d.names {
				declared[n] = true
			}
		}
	}
	if g.cell != nil {
		for _, n := range g.cell.declared {
			declared[n] = true
		}
	}
	stored := map[string]importInfo{}
	var specs []string
	seenSpec := map[string]bool{}
	add := func(spec string) {
		if !seenSpec[spec] {
			seenSpec[spec] = true
			specs = append(specs, spec)
		}
	}
	for _, d := range g.decls {
		for _, imp := range d.imports {
			switch imp.name {
			case "_", ".":
				add(imp.spec)
			default:
				stored[imp.name] = imp
			}
		}
	}
	done := map[string]bool{}
	for _, name := range sels {
		if done[name] || declared[name] {
			continue
		}
		done[name] = true
		if imp, ok := stored[name]; ok {
			add(imp.spec)
			continue
		}
		switch name {
		case "harness":
			add(strconv.Quote(harnessPath))
		case harnessName:
			add(harnessName + " " + strconv.Quote(harnessPath))
		case "display":
			add(strconv.Quote(displayPath))
		default:
			if p, ok := stdpkg.Path(name); ok {
				if defaultName(p) == name {
					add(strconv.Quote(p))
				} else {
					add(name + " " + strconv.Quote(p))
				}
			}
		}
	}
	for _, spec := range g.typeImports() {
		add(spec)
	}
	sort.Strings(specs)
	return specs
}

// typeImports returns the import specs of the packages that the types of
// the compiled cell's variables and of the carried variables name.
func (g *generator) typeImports() []string {
	named := map[string]string{}
	if g.cell != nil {
		maps.Copy(named, g.cell.imports)
	}
	for n := range g.carried {
		typeSource(g.carriedTypes[n], named)
	}
	var specs []string
	for _, name := range sortedKeys(named) {
		specs = append(specs, name+" "+strconv.Quote(named[name]))
	}
	return specs
}

// importPaths returns the paths of the packages the program imports (a
// spec whose path does not unquote is kept whole, and is no package's).
func (g *generator) importPaths() []string {
	var paths []string
	for _, spec := range g.imports() {
		path, err := strconv.Unquote(spec[strings.Index(spec, `"`):])
		if err != nil {
			path = spec
		}
		paths = append(paths, path)
	}
	return paths
}

// selfContained reports whether paths, a program's imports, are only of
// the standard library and the workspace's own packages, which do not
// change while the kernel runs, so that the same source always builds the
// same binary.
func selfContained(paths []string) bool {
	for _, path := range paths {
		if !(stdpkg.IsStd(path) || strings.HasPrefix(path, "perfnbcell/")) {
			return false
		}
	}
	return true
}

// lineWriter builds the file and knows the line it is on, to restore
// positions in the generated file after cell code.
type lineWriter struct {
	buf  bytes.Buffer
	line int // number of the line being written (1-based)
}

func (w *lineWriter) printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	w.buf.WriteString(s)
	w.line += strings.Count(s, "\n")
}

// cellCode writes cell code behind a //line directive, then restores the
// generated file's own positions.
func (w *lineWriter) cellCode(sn Snippet, text string) {
	w.printf("%s\n", cell.Pos{Cell: sn.Cell, Line: sn.Line, Col: sn.Col}.Directive())
	w.printf("%s\n", strings.TrimRight(text, "\n"))
	w.printf("%s\n", lineDirective(GeneratedFile, w.line+1, 1))
}

func (g *generator) emit() []byte {
	w := &lineWriter{line: 1}
	w.printf("// Code generated by perfnb from notebook cells. DO NOT EDIT.\n\npackage main\n\n")
	if specs := g.imports(); len(specs) > 0 {
		w.printf("import (\n")
		for _, s := range specs {
			w.printf("\t%s\n", s)
		}
		w.printf(")\n")
	}
	g.emitState(w)
	for _, d := range g.decls {
		if !d.used {
			continue
		}
		text := d.decl.Source
		if c, ok := g.carriedSource(d); ok {
			text = c
		}
		w.printf("\n")
		w.cellCode(Snippet{Source: d.decl.Source, Cell: d.decl.Cell, Line: d.decl.Line}, text)
	}
	if g.cell != nil {
		g.emitCell(w)
	}
	for _, bc := range g.benches {
		w.printf("\nfunc Benchmark%s(%s *testing.B) {\n", bc.name, bc.param)
		// Cleanup, not defer: a deferred call changes how the compiler
		// lays out the loop (measured: +0.7 ns per iteration on a 20 ns
		// allocating statement), and the function must compile like a
		// hand-written benchmark. Cleanup runs even after runtime.Goexit.
		w.printf("\t%s.Cleanup(harness.RedirectStdout())\n", bc.param)
		w.printf("\t%s.Cleanup(harness.Body(%s))\n", bc.param, bc.param)
		if bc.setup.text != "" {
			w.cellCode(bc.setup.sn, bc.setup.text)
			for _, n := range bc.setup.declared {
				w.printf("\t_ = %s\n", n)
			}
		}
		if strings.TrimSpace(bc.before) != "" {
			w.printf("%s\n", strings.TrimRight(bc.before, "\n"))
		}
		w.printf("\tfor %s.Loop() {\n", bc.param)
		if bc.body.text != "" {
			w.cellCode(bc.body.sn, bc.body.text)
			for _, n := range bc.body.declared {
				w.printf("\t\t_ = %s\n", n)
			}
		}
		w.printf("\t}\n")
		if strings.TrimSpace(bc.after) != "" {
			w.printf("%s\n", strings.TrimRight(bc.after, "\n"))
		}
		w.printf("\tharness.Returned()\n}\n")
	}
	if len(g.benches) > 0 {
		w.printf("\nfunc TestMain(m *testing.M) { harness.Main(m) }\n")
		w.printf("\nfunc %s(t *testing.T) {\n\tharness.Timeit(t, testing.Benchmark, map[string]func(*testing.B){\n", harness.TimeitTest)
		for _, bc := range g.benches {
			w.printf("\t\t%q: Benchmark%s,\n", bc.name, bc.name)
		}
		w.printf("\t})\n}\n")
	}
	return w.buf.Bytes()
}
