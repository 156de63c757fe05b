// Package check type-checks notebook cells as Go with go/types before the
// interpreter runs them, so that a cell is accepted exactly when the Go
// compiler would accept it, with the compiler's messages at cell
// positions (In[N]:line:col).
//
// A cell is checked as part of the program the notebook holds now: every
// stored declaration of the earlier cells (those the cell redefines left
// out), the cell's own imports and declarations at package level, its
// top-level x := f() statements as package-level var x = f() (as the
// declaration store keeps them), and its other top-level statements as
// the body of a function. Standard packages used by name without an
// import are imported for the check as the interpreter imports them on
// first use, and imports are never "imported and not used": a notebook
// imports in one cell what it uses in the next.
//
// The checker keeps the notebook's package between cells and checks each
// cell against it (see Checker), so that a cell costs what it holds, not
// what the notebook holds. It keeps the program of the last cell that
// checked, for completion and inspection (TypeOf, Members), and, for the
// values the session saves after a cell, what the cell may have changed
// (Program.MayChange).
package check

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/perfnb/perfnb/runtime/cell"
)

// Options configures a Checker.
type Options struct {
	// Fset holds the syntax trees of the cells (cell.ParseIn) and of the
	// stored declarations; nil makes a new one.
	Fset *token.FileSet
	// Dir is the directory from which imports resolve, as for the go
	// command run there: a directory inside a module resolves that
	// module's packages and its requirements besides the standard
	// library. "" is the current directory. Ignored when Importer is set.
	Dir string
	// Env is the go command's environment (nil for the kernel's), such
	// as the GOWORK of the notebook's modules.
	Env []string
	// Fetch, when set, is called for an import outside the standard
	// library that the go command does not resolve from Dir, to make it
	// resolvable (the notebook's modules run go get); the import is then
	// looked up again.
	Fetch func(path string) error
	// Importer, when set, is shared with other checkers (tests do so to
	// read export data once); Dir, Env and Fetch are then ignored.
	Importer *Importer
	// AutoImport gives the import path of a package used by name without
	// an import (strings.ToUpper), as the interpreter imports it on first
	// use; nil imports nothing on first use.
	AutoImport func(name string) (path string, ok bool)
}

// Checker checks cells. A Checker and its Programs are not safe for
// concurrent use: a Program's package is the checker's, which the checks
// of later cells extend.
//
// A Checker keeps the notebook's package between cells (its base): a
// cell is checked against the objects earlier cells declared, not by
// checking them again, and the declarations it adds join the base when
// the session says, with Commit, what the cell left in the store. A
// redefinition the base cannot take (a type, const or import name
// redefined, a func's signature or a var's type changed), a store the
// base does not follow, or a base grown with many cells makes a full
// check of the store and the cell, as one program, which becomes the new
// base.
type Checker struct {
	fset       *token.FileSet
	im         *Importer
	refl       *reflected
	autoImport func(string) (string, bool)
	sizes      types.Sizes

	vars     map[string]types.Type // variables given to the interpreter from Go (SetVar)
	infoSize [2]int                // entries of the last full check's Info.Types and Uses
	parsed   map[declKey]*parsedDecl

	mu   sync.Mutex
	last *Program // the last program that checked

	base    *base    // the package of the store's declarations; nil before the first check
	pending *pending // what the checks of the running cell added, until Commit
	// escaped are the variables whose address a cell took, by name; kept
	// across full checks, which cannot see the statements of earlier
	// cells.
	escaped map[string]bool
	// lits is what the func literals of the cells run may do: a later
	// cell may call one through a func value.
	lits  *effects
	fulls int // full checks made (for tests)
}

// declKey identifies a stored declaration's source.
type declKey struct {
	kind   cell.DeclKind
	cell   int
	line   int
	source string
}

// parsedDecl is a stored declaration's syntax, kept between checks.
type parsedDecl struct {
	decl ast.Decl
	file *token.File
	sels []string // identifiers used as the X of a selector X.Sel
	err  error
}

// New returns a checker.
func New(opts Options) *Checker {
	fset := opts.Fset
	if fset == nil {
		fset = token.NewFileSet()
	}
	im := opts.Importer
	if im == nil {
		im = newImporter(fset, opts.Dir, opts.Env, opts.Fetch)
	}
	auto := opts.AutoImport
	if auto == nil {
		auto = func(string) (string, bool) { return "", false }
	}
	return &Checker{fset: fset, im: im, refl: newReflected(im), autoImport: auto,
		sizes: types.SizesFor("gc", runtime.GOARCH), vars: map[string]types.Type{},
		parsed: map[declKey]*parsedDecl{}, escaped: map[string]bool{}, lits: newEffects()}
}

// Fset returns the file set of the checker's syntax trees.
func (c *Checker) Fset() *token.FileSet { return c.fset }

// Importer returns the checker's importer.
func (c *Checker) Importer() *Importer { return c.im }

// AddPackage makes a package the toolchain may not know importable by
// the cells, from its symbols as the interpreter holds them (funcs and
// vars by value, types as a nil pointer to the type).
func (c *Checker) AddPackage(importPath, name string, symbols map[string]reflect.Value) error {
	pkg, err := c.refl.Package(importPath, name, symbols)
	if err != nil {
		return fmt.Errorf("describing package %s to the type checker: %w", importPath, err)
	}
	c.im.Add(pkg)
	return nil
}

// SetVar declares a variable that was given to the interpreter from Go
// (a %timeit -o result), of t's type, until a cell declares name again.
func (c *Checker) SetVar(name string, t reflect.Type) error {
	tt, err := c.refl.typ(t)
	if err != nil {
		return fmt.Errorf("describing %s to the type checker: %w", name, err)
	}
	c.vars[name] = tt
	if bs := c.current(); bs != nil {
		bs.setVar(name, tt)
	}
	return nil
}

// Forget drops the variables given with SetVar that names declare again.
func (c *Checker) Forget(names ...string) {
	for _, n := range names {
		delete(c.vars, n)
	}
	if bs := c.current(); bs != nil && len(names) > 0 {
		bs.dirty = true // its scope cannot forget them
	}
}

// Diag is one compile error at a position of a cell.
type Diag struct {
	Cell, Line, Col int
	Msg             string
}

func (d Diag) String() string {
	return cell.Pos{Cell: d.Cell, Line: d.Line, Col: d.Col}.String() + ": " + d.Msg
}

// Error is the compile errors of a cell, in order of position.
type Error struct {
	Diags []Diag
}

// Error returns the errors one per line, as the compiler prints them.
func (e *Error) Error() string {
	lines := make([]string, len(e.Diags))
	for i, d := range e.Diags {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// maxDiags is how many errors a cell reports, as the compiler does.
const maxDiags = 10

// Last returns the program of the last cell that checked, or nil. It is
// safe to call while a cell is checked.
func (c *Checker) Last() *Program {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// TypeOf returns the type of the Go expression expr in the program's
// package scope, its imports included (first := sample[0] then first
// gives sample's element type), and whether expr denotes a type.
//
// Like a cell, expr may use a standard package that no cell has imported
// (time.Now()): it is imported for this evaluation only.
func (p *Program) TypeOf(expr string) (t types.Type, isType bool, err error) {
	tv, err := types.Eval(p.fset, p.Pkg, p.anchor, expr)
	if err != nil {
		tv, err = p.evalWithImports(expr, err)
	}
	if err != nil {
		return nil, false, err
	}
	return tv.Type, tv.IsType(), nil
}

// evalWithImports evaluates expr in a scope that holds the program's
// package-level names and imports and, besides, the standard packages
// that expr names by a name the program does not declare. It returns
// orig, the error of the plain evaluation, when there are none.
func (p *Program) evalWithImports(expr string, orig error) (types.TypeAndValue, error) {
	x, err := parser.ParseExpr(expr)
	if err != nil || p.autoImport == nil || p.im == nil {
		return types.TypeAndValue{}, orig
	}
	scope := types.NewPackage(p.Pkg.Path(), p.Pkg.Name())
	added := false
	ast.Inspect(x, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		id, ok := sel.X.(*ast.Ident)
		if !ok || p.Lookup(id.Name) != nil || scope.Scope().Lookup(id.Name) != nil {
			return true
		}
		path, ok := p.autoImport(id.Name)
		if !ok {
			return true
		}
		if pkg, err := p.im.Import(path); err == nil {
			scope.Scope().Insert(types.NewPkgName(token.NoPos, scope, id.Name, pkg))
			added = true
		}
		return true
	})
	if !added {
		return types.TypeAndValue{}, orig
	}
	for s := p.Pkg.Scope().Innermost(p.anchor); s != nil && s != types.Universe; s = s.Parent() {
		for _, name := range s.Names() {
			scope.Scope().Insert(s.Lookup(name)) // an inner name hides an outer one: the first wins
		}
	}
	return types.Eval(p.fset, scope, token.NoPos, expr)
}

// Members lists what expr.Name can select, sorted: for a value, the
// fields (promoted ones included) and the methods of its type (those of
// *T too, as for an addressable variable); for a type, its methods
// (method expressions). Unexported members of other packages are left
// out.
func (p *Program) Members(expr string) (fields, methods []string, err error) {
	t, isType, err := p.TypeOf(expr)
	if err != nil {
		return nil, nil, err
	}
	visible := func(o types.Object) bool { return o.Exported() || o.Pkg() == p.Pkg }
	ms := types.NewMethodSet(t)
	if _, isPtr := t.Underlying().(*types.Pointer); !isType && !isPtr && !types.IsInterface(t) {
		ms = types.NewMethodSet(types.NewPointer(t))
	}
	for k := 0; k < ms.Len(); k++ {
		if o := ms.At(k).Obj(); visible(o) {
			methods = append(methods, o.Name())
		}
	}
	if !isType {
		seen := map[string]bool{}
		var walk func(t types.Type, depth int)
		walk = func(t types.Type, depth int) {
			if ptr, ok := t.Underlying().(*types.Pointer); ok {
				t = ptr.Elem()
			}
			st, ok := t.Underlying().(*types.Struct)
			if !ok || depth > 5 {
				return
			}
			for k := 0; k < st.NumFields(); k++ {
				f := st.Field(k)
				if visible(f) && !seen[f.Name()] {
					seen[f.Name()] = true
					fields = append(fields, f.Name())
				}
				if f.Embedded() {
					walk(f.Type(), depth+1)
				}
			}
		}
		walk(t, 0)
	}
	sort.Strings(fields)
	sort.Strings(methods)
	return fields, methods, nil
}

// Lookup returns the object that name denotes at package level (a
// declared name, an import, or a predeclared name), or nil.
func (p *Program) Lookup(name string) types.Object {
	if s := p.Pkg.Scope().Innermost(p.anchor); s != nil {
		_, obj := s.LookupParent(name, p.anchor)
		return obj
	}
	return p.Pkg.Scope().Lookup(name)
}
