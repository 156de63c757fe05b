package interp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/traefik/yaegi/stdlib"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/display"
	"github.com/perfnb/perfnb/runtime/modules"
)

// Importer makes packages outside the standard library importable;
// *modules.Notebook is the real one.
type Importer interface {
	// Import prepares the package at path, writing its progress
	// (resolving, downloading, building) to progress as it happens.
	Import(ctx context.Context, path string, progress io.Writer) (*modules.Package, error)
	// GoPath is where packages without a plugin are laid out as source.
	GoPath() string
}

// goPath is the GOPATH yaegi reads package sources from ("" without an
// Importer).
func (i *Interp) goPath() string {
	if i.opts.Packages == nil {
		return ""
	}
	return i.opts.Packages.GoPath()
}

// builtinPackage reports whether the interpreter has the package at p
// without an Importer: the standard library it is built with, and
// perfnb's own packages.
func builtinPackage(p string) bool {
	if p == display.ImportPath || p == "unsafe" || p == "C" || strings.HasPrefix(p, "perfnb/") || p == rtPath || p == varsPath {
		return true
	}
	for key := range stdlib.Symbols {
		if path.Dir(key) == p {
			return true
		}
	}
	return false
}

// importPackage asks the Importer for the package at p, when p is not
// built in, and loads the symbols of its plugin. It returns nil for a
// built-in package.
func (i *Interp) importPackage(ctx context.Context, p string) (*modules.Package, error) {
	if i.opts.Packages == nil || builtinPackage(p) {
		return nil, nil
	}
	pkg, err := i.opts.Packages.Import(ctx, p, i.stdout)
	if err == nil {
		if i.pkgNames == nil {
			i.pkgNames = map[string]string{}
			i.loaded = map[string]*modules.Package{}
		}
		i.pkgNames[p] = pkg.Name
		i.loaded[p] = pkg
	}
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return nil, ctx.Err()
		}
		var native *modules.NativeOnlyError
		if errors.As(err, &native) {
			return nil, native
		}
		return nil, protocol.NewError(protocol.ImportError, err.Error())
	}
	if pkg.Symbols != nil {
		if _, done := i.plugins[p]; !done {
			if err := i.yi.Use(pkg.Symbols); err != nil {
				return nil, fmt.Errorf("loading the plugin of %s into the interpreter: %w", p, err)
			}
			if i.plugins == nil {
				i.plugins = map[string]*modules.Package{}
			}
			i.plugins[p] = pkg
		}
	}
	return pkg, nil
}

// PackageName returns the name of the package at path, when it was
// imported through the Importer (a module's package is not always named
// after its path's last element).
func (i *Interp) PackageName(path string) (string, bool) {
	name, ok := i.pkgNames[path]
	return name, ok
}

// importFailed handles the interpreter's failure to import pkg (under
// alias) from source: the package builds (Import checked that), so the
// import is kept for the magics (see nativeOnly) and nil returned. Other
// errors are returned.
func (i *Interp) importFailed(pkg *modules.Package, err error, alias string) error {
	err = sourceFailed(pkg, err)
	var native *modules.NativeOnlyError
	if errors.As(err, &native) {
		i.nativeOnly(native, alias)
		return nil
	}
	return err
}

// sourceFailed turns the interpreter's failure to import pkg from source
// into a NativeOnlyError.
func sourceFailed(pkg *modules.Package, err error) error {
	if pkg == nil || pkg.Symbols != nil {
		return err
	}
	var ke *protocol.Error
	if errors.As(err, &ke) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	why := strings.TrimSpace(cellPos(err.Error()))
	if strings.Contains(why, "undefined type") || strings.Contains(why, "generic") || strings.Contains(why, "instantiat") {
		why += " (the interpreter cannot instantiate every generic type or function)"
	}
	return &modules.NativeOnlyError{Path: pkg.Path, Name: pkg.Name,
		Reason: fmt.Sprintf("no plugin (%s), and the interpreter could not read its source: %s", pkg.Why, why)}
}

// nativeOnly records an import that interpreted cells cannot use, under
// the name alias (or the package's), and warns on the cell's stderr; the
// cell goes on, and its import is stored for the magics.
func (i *Interp) nativeOnly(e *modules.NativeOnlyError, alias string) {
	name := alias
	if name == "" {
		name = e.Name
	}
	if i.natives == nil {
		i.natives = map[string]*modules.NativeOnlyError{}
	}
	i.natives[name] = e
	if i.pkgNames == nil {
		i.pkgNames = map[string]string{}
	}
	i.pkgNames[e.Path] = e.Name
	fmt.Fprintf(i.stderr, "%s\n", e.Error())
}

// noSymbol matches yaegi's error for a name a package's symbol table lacks.
var noSymbol = regexp.MustCompile(`package \w+ "([^"]+)" has no symbol (\w+)`)

// undefinedName matches yaegi's error for an undefined name.
var undefinedName = regexp.MustCompile(`undefined: (\w+)`)

// explainPackage rewrites ke when it reports a name that is a package
// only the magics can use, or a missing symbol that is a generic function
// or type of a plugin's package: the plugin holds compiled code only, and
// generic code is compiled per instantiation.
func (i *Interp) explainPackage(ke *protocol.Error) *protocol.Error {
	if m := undefinedName.FindStringSubmatch(ke.Value); m != nil && i.natives[m[1]] != nil {
		e := i.natives[m[1]]
		return protocol.NewError(ke.Kind(), ke.Value[:strings.Index(ke.Value, m[0])]+
			fmt.Sprintf("%s is package %q, which interpreted cells cannot use: %s; %s", m[1], e.Path, e.Reason, modules.NativeOnly))
	}
	m := noSymbol.FindStringSubmatch(ke.Value)
	if m == nil {
		return ke
	}
	pkg, ok := i.plugins[m[1]]
	if !ok || !pkg.Generic[m[2]] {
		return ke
	}
	msg := fmt.Sprintf("%s.%s is generic, and interpreted cells call a package's compiled code, which has no generic functions or types (only their instantiations inside the package); %s, and interpreted cells can call it through a non-generic function of the package",
		pkg.Name, m[2], modules.NativeOnly)
	return protocol.NewError(ke.Kind(), ke.Value[:strings.Index(ke.Value, m[0])]+msg)
}

// Edited reports whether the source of the package at path, which the
// interpreter loaded, changed since: the interpreter keeps running the
// code it loaded (a process cannot load a package twice).
func (i *Interp) Edited(path string) bool {
	p, ok := i.loaded[path]
	return ok && p.Edited()
}

// NativeOnly says why the interpreter cannot load the package at path,
// which an import found to build: only compiled cells and the magics can
// use it.
func (i *Interp) NativeOnly(path string) (string, bool) {
	for _, e := range i.natives {
		if e.Path == path {
			return e.Reason, true
		}
	}
	return "", false
}
