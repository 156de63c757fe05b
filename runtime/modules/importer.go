package modules

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// Package is a package made importable in the interpreter, one way or the
// other.
type Package struct {
	Path string // import path
	Name string // package name
	// Symbols, when not nil, are the package's exported names, from a
	// plugin built for it, for the interpreter's Use: calls into the
	// package run compiled code.
	Symbols map[string]map[string]reflect.Value
	// Why, when Symbols is nil, says why no plugin could be used: the
	// interpreter then reads the package's source under GoPath.
	Why string
	// Generic holds the package's exported generic functions and types,
	// which a plugin's symbol table cannot hold.
	Generic map[string]bool
	// stamp is the state of its source when it was built (Edited).
	stamp sourceStamp
}

// NativeOnly is the advice given when interpreted cells cannot use a
// package.
const NativeOnly = "cells that use it run compiled, and the magics build and measure it natively"

// NativeOnlyError is Import's error for a package that builds, but that
// interpreted cells cannot load: the magics build and measure it natively.
type NativeOnlyError struct {
	Path   string // import path
	Name   string // package name
	Reason string // why interpreted cells cannot load it
}

func (e *NativeOnlyError) Error() string {
	return fmt.Sprintf("cannot import %q in interpreted cells: %s; %s", e.Path, e.Reason, NativeOnly)
}

// Import makes the package at path importable in the interpreter: it finds
// it in the notebook's workspace (obtaining its module as go get would),
// tells the version used, then builds a plugin of it, or, when that cannot
// work, lays out its source for the interpreter. Progress goes to progress
// as it happens; cancelling ctx stops the go commands. A package imported
// before is returned as it was: the interpreter's view of a package is
// refreshed when the kernel restarts.
func (n *Notebook) Import(ctx context.Context, path string, progress io.Writer) (*Package, error) {
	// One import at a time: two plugins of one package cannot both load.
	n.importMu.Lock()
	defer n.importMu.Unlock()
	n.mu.Lock()
	p, ok := n.packages[path]
	native := n.natives[path]
	n.mu.Unlock()
	switch {
	case ok:
		return p, nil
	case native != nil:
		return nil, native
	}
	if err := n.ready(ctx); err != nil {
		return nil, err
	}
	pkgs, err := n.resolve(ctx, path, progress)
	if err != nil {
		return nil, err
	}
	target := pkgs[len(pkgs)-1]
	if target.Standard {
		return nil, fmt.Errorf("%s is a standard-library package the interpreter does not have", path)
	}
	if target.Name == "main" {
		return nil, fmt.Errorf("cannot import %q: it is a program (package main), not an importable package", path)
	}
	p = &Package{Path: path, Name: target.Name, Generic: genericNames(target.Dir), stamp: stampOf(n.editable(pkgs))}
	syms, pluginErr := n.plugin(ctx, pkgs, progress)
	switch {
	case pluginErr == nil:
		p.Symbols = syms
	case errors.Is(pluginErr, context.Canceled):
		return nil, pluginErr
	default:
		if err := n.compiles(ctx, pkgs); err != nil {
			return nil, err
		}
		p.Why = pluginErr.Error()
		if reason := sourceProblem(pkgs); reason != "" {
			native := &NativeOnlyError{Path: path, Name: target.Name,
				Reason: fmt.Sprintf("no plugin (%s), and the interpreter cannot read its source (%s)", p.Why, reason)}
			n.mu.Lock()
			n.natives[path] = native
			n.mu.Unlock()
			return nil, native
		}
		fmt.Fprintf(writer(progress), "go: no plugin for %s (%s); the interpreter reads its source instead, and runs it about 200 times slower than compiled code\n", path, p.Why)
		if err := n.layOut(pkgs); err != nil {
			return nil, err
		}
	}
	n.mu.Lock()
	n.packages[path] = p
	n.mu.Unlock()
	return p, nil
}

// compiles returns an error when the last package of pkgs (or one of its
// dependencies) does not compile, with the compiler's messages.
func (n *Notebook) compiles(ctx context.Context, pkgs []*listed) error {
	target := pkgs[len(pkgs)-1]
	_, err := n.run(ctx, n.dir, n.Env(n.workPath()), nil, "build", "--", target.ImportPath)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return err
	}
	msg := goMessage(err)
	for k := len(pkgs) - 1; k >= 0; k-- {
		if p := pkgs[k]; len(p.CgoFiles) > 0 {
			msg += fmt.Sprintf("\n(%s uses cgo: building it needs a working C compiler, $CC or gcc, and CGO_ENABLED=1)", p.ImportPath)
			break
		}
	}
	return fmt.Errorf("cannot import %q: it does not build:\n%s", target.ImportPath, msg)
}

// sourceProblem says why the interpreter cannot read the source of the
// packages in pkgs, or "" when it may.
func sourceProblem(pkgs []*listed) string {
	for _, p := range pkgs {
		if p.Standard {
			continue
		}
		switch {
		case len(p.CgoFiles) > 0:
			return fmt.Sprintf("%s uses cgo (import \"C\"), which the interpreter cannot run", p.ImportPath)
		case len(p.SFiles) > 0:
			return fmt.Sprintf("%s has assembly (%s), which the interpreter cannot run", p.ImportPath, strings.Join(p.SFiles, ", "))
		}
	}
	return ""
}

// layOut links the Go files of the non-standard packages in pkgs into
// GoPath, the layout the interpreter's source import reads. Files are
// linked, not copied, one by one into real directories, so that nothing
// is ever written into the user's source tree.
func (n *Notebook) layOut(pkgs []*listed) error {
	for _, p := range pkgs {
		if p.Standard || p.Dir == "" {
			continue
		}
		dst := filepath.Join(n.GoPath(), "src", filepath.FromSlash(p.ImportPath))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return fmt.Errorf("laying out the source of %s: %w", p.ImportPath, err)
		}
		old, _ := os.ReadDir(dst)
		for _, e := range old {
			if !e.IsDir() {
				os.Remove(filepath.Join(dst, e.Name()))
			}
		}
		files, err := os.ReadDir(p.Dir)
		if err != nil {
			return fmt.Errorf("reading the source of %s: %w", p.ImportPath, err)
		}
		for _, f := range files {
			name := f.Name()
			if f.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			if err := os.Symlink(filepath.Join(p.Dir, name), filepath.Join(dst, name)); err != nil {
				return fmt.Errorf("laying out the source of %s: %w", p.ImportPath, err)
			}
		}
	}
	return nil
}

// genericNames returns the exported generic functions and types declared
// in the Go files of dir.
func genericNames(dir string) map[string]bool {
	names := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Type.TypeParams != nil && d.Name.IsExported() {
					names[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok && ts.TypeParams != nil && ts.Name.IsExported() {
						names[ts.Name.Name] = true
					}
				}
			}
		}
	}
	return names
}
