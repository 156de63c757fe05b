package session

import (
	"go/ast"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/traefik/yaegi/stdlib"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/display"
)

// stdPackage is a standard-library package cells can import.
type stdPackage struct {
	path    string
	name    string
	members map[string]reflect.Value // exported names
	sorted  []string                 // members' names, sorted
}

// stdIndex lists the standard-library packages yaegi provides, the
// packages cells can use.
type stdIndex struct {
	byPath map[string]*stdPackage
	byName map[string][]*stdPackage // sorted by path
	paths  []string                 // sorted
	names  []string                 // package names, sorted, unique
}

// newStdIndex reads yaegi's stdlib.Symbols, whose keys are "path/name"
// (such as "fmt/fmt" and "math/rand/v2/rand"), and adds perfnb's display
// package, which every cell can use without an import.
func newStdIndex() *stdIndex {
	x := &stdIndex{byPath: make(map[string]*stdPackage), byName: make(map[string][]*stdPackage)}
	add := func(path, name string, syms map[string]reflect.Value) {
		p := &stdPackage{path: path, name: name, members: make(map[string]reflect.Value)}
		for m, v := range syms {
			if ast.IsExported(m) {
				p.members[m] = v
				p.sorted = append(p.sorted, m)
			}
		}
		sort.Strings(p.sorted)
		x.byPath[path] = p
		x.byName[name] = append(x.byName[name], p)
		x.paths = append(x.paths, path)
	}
	for k, syms := range stdlib.Symbols {
		i := strings.LastIndexByte(k, '/')
		if i < 0 {
			continue
		}
		path, name := k[:i], k[i+1:]
		if strings.HasPrefix(path, "github.com/") || strings.Contains(path, "internal") {
			continue
		}
		add(path, name, syms)
	}
	add(display.ImportPath, "display", display.New(func() protocol.Publisher { return nil }).Symbols())
	sort.Strings(x.paths)
	for name, ps := range x.byName {
		sort.Slice(ps, func(i, j int) bool { return ps[i].path < ps[j].path })
		x.names = append(x.names, name)
	}
	sort.Strings(x.names)
	return x
}

// preferredPath names the package a bare name means when several standard
// packages share it (what a cell most likely wants when it does not import
// one itself).
func preferredPath(name string) string {
	switch name {
	case "rand":
		return "math/rand"
	case "template":
		return "text/template"
	case "scanner":
		return "text/scanner"
	case "pprof":
		return "runtime/pprof"
	case "trace":
		return "runtime/trace"
	case "constraint":
		return "go/build/constraint"
	}
	return ""
}

// byPackageName returns the package name refers to, given the cell's
// imports (name → path).
func (x *stdIndex) byPackageName(name string, imports map[string]string) *stdPackage {
	if path, ok := imports[name]; ok {
		return x.byPath[path] // nil for a package yaegi does not know
	}
	ps := x.byName[name]
	if len(ps) == 0 {
		return nil
	}
	if pref := preferredPath(name); pref != "" {
		if p, ok := x.byPath[pref]; ok {
			return p
		}
	}
	// The shortest path: math/rand before math/rand/v2.
	best := ps[0]
	for _, p := range ps[1:] {
		if len(p.path) < len(best.path) {
			best = p
		}
	}
	return best
}

// memberKind names the kind of a yaegi symbol for completion metadata.
func memberKind(v reflect.Value) string {
	switch {
	case !v.IsValid():
		return "instance"
	case v.Kind() == reflect.Func:
		return "function"
	case v.Kind() == reflect.Pointer && v.IsNil():
		return "class" // yaegi describes a type as a nil pointer to it
	}
	return "instance"
}

// lazyStd builds the index on first use.
type lazyStd struct {
	once sync.Once
	x    *stdIndex
}

func (l *lazyStd) get() *stdIndex {
	l.once.Do(func() { l.x = newStdIndex() })
	return l.x
}
