package session

import (
	"go/build"
	"go/doc"
	"go/types"
	"io/fs"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/display"
	"github.com/perfnb/perfnb/runtime/stdpkg"
)

// stdIndex lists the packages a cell can name without a module: the
// standard library's, as GOROOT's sources hold them (whatever the
// interpreter has: cells that use the others run compiled), and perfnb's
// display package.
type stdIndex struct {
	paths []string // import paths, sorted
	names []string // the names cells use for them (stdpkg), sorted
}

// newStdIndex lists the packages of goroot's sources, as go list std does:
// those that build here (an experiment's packages do not), and no
// internal, vendored or command packages.
func newStdIndex(goroot string) *stdIndex {
	x := &stdIndex{paths: []string{display.ImportPath}, names: []string{"display"}}
	ctx := build.Default
	ctx.GOROOT = goroot
	src := filepath.Join(goroot, "src")
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		switch base := d.Name(); {
		case rel == ".":
			return nil
		case base == "internal" || base == "vendor" || base == "testdata" || rel == "cmd" || rel == "builtin" ||
			strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_"): // as the go command skips them
			return filepath.SkipDir
		}
		if _, err := ctx.ImportDir(p, 0); err == nil {
			x.paths = append(x.paths, filepath.ToSlash(rel))
		}
		return nil
	})
	for name := range stdpkg.All() {
		x.names = append(x.names, name)
	}
	sort.Strings(x.paths)
	sort.Strings(x.names)
	return x
}

// packagePath returns the import path of the package that name means in
// a cell: one of its imports (name → path), the display package, or the
// standard package that the interpreter imports on first use of name.
func packagePath(name string, imports map[string]string) (string, bool) {
	if path, ok := imports[name]; ok {
		return path, true
	}
	if name == "display" {
		return display.ImportPath, true
	}
	return stdpkg.Path(name)
}

// packageMembers returns the exported names of the package at path, with
// their completion kinds: from its documentation (its sources in GOROOT),
// or, for the display package, which has none, from its symbols.
func (s *Session) packageMembers(path string) []candidate {
	if path == display.ImportPath {
		var out []candidate
		for name, v := range display.New(func() protocol.Publisher { return nil }).Symbols() {
			out = append(out, candidate{name, memberKind(v)})
		}
		return out
	}
	if pd, err := s.docs.pkg(path); err == nil {
		return pd.members()
	}
	// A package of the notebook's modules: its export data.
	pkg, ok := s.importedPackage(path)
	if !ok {
		return nil
	}
	var out []candidate
	for _, name := range pkg.Scope().Names() {
		obj := pkg.Scope().Lookup(name)
		if !obj.Exported() {
			continue
		}
		kind := "instance"
		switch obj.(type) {
		case *types.Func:
			kind = "function"
		case *types.TypeName:
			kind = "class"
		}
		out = append(out, candidate{name, kind})
	}
	return out
}

// members lists the package's exported names as go/doc groups them: a
// type's constructors, constants and variables with it.
func (p *pkgDoc) members() []candidate {
	var out []candidate
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			for _, n := range v.Names {
				out = append(out, candidate{n, "instance"})
			}
		}
	}
	funcs := func(fs []*doc.Func) {
		for _, f := range fs {
			out = append(out, candidate{f.Name, "function"})
		}
	}
	values(p.pkg.Consts)
	values(p.pkg.Vars)
	funcs(p.pkg.Funcs)
	for _, t := range p.pkg.Types {
		out = append(out, candidate{t.Name, "class"})
		values(t.Consts)
		values(t.Vars)
		funcs(t.Funcs)
	}
	return out
}

// memberKind names the kind of a symbol of the display package for
// completion metadata.
func memberKind(v reflect.Value) string {
	switch {
	case !v.IsValid():
		return "instance"
	case v.Kind() == reflect.Func:
		return "function"
	case v.Kind() == reflect.Pointer && v.IsNil():
		return "class" // a type is a nil pointer to it
	}
	return "instance"
}

// lazyStd builds the index on first use.
type lazyStd struct {
	once sync.Once
	x    *stdIndex
}

func (l *lazyStd) get(goroot func() string) *stdIndex {
	l.once.Do(func() { l.x = newStdIndex(goroot()) })
	return l.x
}
