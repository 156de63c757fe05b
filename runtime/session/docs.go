package session

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/perfnb/perfnb/internal/gotool"
)

// docIndex reads documentation of standard-library packages from the Go
// sources in GOROOT, parsing each package once.
type docIndex struct {
	std lazyStd

	gorootOnce sync.Once
	goroot     string

	mu   sync.Mutex
	pkgs map[string]*pkgDoc // by import path
}

// pkgDoc is one package's documentation.
type pkgDoc struct {
	fset *token.FileSet
	pkg  *doc.Package
	err  error
}

func newDocIndex() *docIndex { return &docIndex{pkgs: make(map[string]*pkgDoc)} }

// gorootDir finds GOROOT: go env GOROOT, else the one the binary was built
// with.
func (d *docIndex) gorootDir() string {
	d.gorootOnce.Do(func() {
		if goCmd, err := gotool.Find(os.Environ()); err == nil {
			d.goroot, _ = gotool.GOROOT(goCmd)
		}
		if d.goroot == "" {
			d.goroot = build.Default.GOROOT
		}
	})
	return d.goroot
}

// pkg returns the documentation of the standard package path.
func (d *docIndex) pkg(path string) (*pkgDoc, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.pkgs[path]; ok {
		return p, p.err
	}
	p := d.load(path)
	d.pkgs[path] = p
	return p, p.err
}

func (d *docIndex) load(path string) *pkgDoc {
	ctx := build.Default
	ctx.GOROOT = d.gorootDir()
	dir := filepath.Join(ctx.GOROOT, "src", filepath.FromSlash(path))
	bp, err := ctx.ImportDir(dir, 0)
	if err != nil {
		return &pkgDoc{err: fmt.Errorf("reading the sources of %s: %w", path, err)}
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return &pkgDoc{err: fmt.Errorf("parsing %s: %w", name, err)}
		}
		files = append(files, f)
	}
	mode := doc.PreserveAST
	if path == "builtin" {
		mode |= doc.AllDecls
	}
	pkg, err := doc.NewFromFiles(fset, files, path, mode)
	if err != nil {
		return &pkgDoc{err: fmt.Errorf("reading the documentation of %s: %w", path, err)}
	}
	return &pkgDoc{fset: fset, pkg: pkg}
}

// synopsis documents the package itself: its clause, its synopsis (the
// whole package comment with detail) and a link.
func (p *pkgDoc) synopsis(detail int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s // import %q\n\n", p.pkg.Name, p.pkg.ImportPath)
	if detail > 0 {
		b.Write(p.pkg.Text(p.pkg.Doc))
	} else if s := p.pkg.Synopsis(p.pkg.Doc); s != "" {
		b.WriteString(s + "\n")
	}
	fmt.Fprintf(&b, "\nhttps://pkg.go.dev/%s\n", p.pkg.ImportPath)
	return b.String()
}

// member documents pkg.Name or pkg.Type.Method: its declaration (with its
// body when detail > 0 and it is a func), its doc comment and a link. It
// reports false when the package has no such exported name.
func (p *pkgDoc) member(sel []string, detail int) (string, bool) {
	decl, docText, ok := p.find(sel)
	if !ok {
		return "", false
	}
	var b strings.Builder
	b.WriteString(p.print(decl, detail))
	b.WriteString("\n\n")
	if docText != "" {
		b.Write(p.pkg.Text(docText))
		b.WriteString("\n")
	}
	anchor := strings.Join(sel, ".")
	if p.pkg.ImportPath == "builtin" {
		fmt.Fprintf(&b, "https://pkg.go.dev/builtin#%s\n", anchor)
	} else {
		fmt.Fprintf(&b, "package %s: https://pkg.go.dev/%s#%s\n", p.pkg.Name, p.pkg.ImportPath, anchor)
	}
	return b.String(), true
}

// find looks a name up among the package's funcs, types (with their
// constructors, methods, consts and vars), consts and vars.
func (p *pkgDoc) find(sel []string) (ast.Node, string, bool) {
	name := sel[0]
	if len(sel) == 2 {
		for _, t := range p.pkg.Types {
			if t.Name != name {
				continue
			}
			for _, m := range t.Methods {
				if m.Name == sel[1] {
					return m.Decl, m.Doc, true
				}
			}
			// A struct field: document the type.
			return t.Decl, t.Doc, true
		}
		return nil, "", false
	}
	for _, f := range p.pkg.Funcs {
		if f.Name == name {
			return f.Decl, f.Doc, true
		}
	}
	values := func(vs []*doc.Value) (ast.Node, string, bool) {
		for _, v := range vs {
			for _, n := range v.Names {
				if n == name {
					return v.Decl, v.Doc, true
				}
			}
		}
		return nil, "", false
	}
	for _, t := range p.pkg.Types {
		if t.Name == name {
			return t.Decl, t.Doc, true
		}
		for _, f := range t.Funcs {
			if f.Name == name {
				return f.Decl, f.Doc, true
			}
		}
		if n, d, ok := values(t.Consts); ok {
			return n, d, ok
		}
		if n, d, ok := values(t.Vars); ok {
			return n, d, ok
		}
	}
	if n, d, ok := values(p.pkg.Consts); ok {
		return n, d, ok
	}
	return values(p.pkg.Vars)
}

// print renders a declaration without its doc comment, and a func without
// its body unless detail > 0.
func (p *pkgDoc) print(n ast.Node, detail int) string {
	switch d := n.(type) {
	case *ast.FuncDecl:
		c := *d
		c.Doc = nil
		if detail == 0 {
			c.Body = nil
		}
		n = &c
	case *ast.GenDecl:
		c := *d
		c.Doc = nil
		n = &c
	}
	var buf bytes.Buffer
	cfg := printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}
	if err := cfg.Fprint(&buf, p.fset, n); err != nil {
		return fmt.Sprintf("(cannot print the declaration: %v)", err)
	}
	return buf.String()
}
