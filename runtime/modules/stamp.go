package modules

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Edited packages. A process cannot load a second build of a package, so
// the interpreter keeps the package it loaded until the kernel restarts;
// the compiler builds from the source as it is. A Package remembers the
// state of the source files it was built from (those of the packages of
// the notebook's own modules, not of the module cache, which do not
// change), so that a cell using it after an edit can run compiled rather
// than with the old code.

// sourceStamp describes the Go files of some package directories: their
// names, sizes and modification times, hashed.
type sourceStamp struct {
	dirs []string
	sum  string
}

// stampOf stamps the Go source files of dirs.
func stampOf(dirs []string) sourceStamp {
	h := fnv.New64a()
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			fmt.Fprintf(h, "%s: %v\n", dir, err)
			continue
		}
		var names []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			fi, err := os.Stat(filepath.Join(dir, n))
			if err != nil {
				fmt.Fprintf(h, "%s/%s: %v\n", dir, n, err)
				continue
			}
			fmt.Fprintf(h, "%s/%s %d %d\n", dir, n, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return sourceStamp{dirs: dirs, sum: fmt.Sprintf("%016x", h.Sum64())}
}

// editable returns the directories of pkgs that belong to the notebook's
// own modules (not the module cache, not the standard library).
func (n *Notebook) editable(pkgs []*listed) []string {
	cache := n.modCache
	var dirs []string
	for _, p := range pkgs {
		if p.Standard || p.Dir == "" || (cache != "" && strings.HasPrefix(p.Dir, cache+string(filepath.Separator))) {
			continue
		}
		dirs = append(dirs, p.Dir)
	}
	return dirs
}

// Edited reports whether the source of the package, or of a package of
// the notebook's modules it imports, changed since it was built.
func (p *Package) Edited() bool {
	if len(p.stamp.dirs) == 0 {
		return false
	}
	return stampOf(p.stamp.dirs).sum != p.stamp.sum
}

// SourceStamps returns, for each imported package whose source (or that
// of a package of the notebook's modules it imports) can be edited, a
// stamp of that source as it is now: a stamp that differs from an
// earlier one says the package was edited in between. The type checker
// reads the packages' export data again then.
func (n *Notebook) SourceStamps() map[string]string {
	n.mu.Lock()
	pkgs := make([]*Package, 0, len(n.packages))
	for _, p := range n.packages {
		pkgs = append(pkgs, p)
	}
	n.mu.Unlock()
	out := map[string]string{}
	for _, p := range pkgs {
		if len(p.stamp.dirs) > 0 {
			out[p.Path] = stampOf(p.stamp.dirs).sum
		}
	}
	return out
}
