package check

import (
	"context"
	"errors"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"sync"

	"github.com/perfnb/perfnb/internal/gotool"
	"github.com/perfnb/perfnb/runtime/stdpkg"
)

// Importer gives the checker the packages cells import: any package the
// Go toolchain resolves from Dir, read from the export data that
// `go list -export` builds (the standard library, and, when Dir is in a
// module, that module's packages and its requirements), plus packages
// supplied with Add (perfnb's display package, which the toolchain may
// not see). Packages are read once and kept for the Importer's lifetime.
// An Importer is safe for concurrent use.
type Importer struct {
	dir   string
	env   []string
	fetch func(path string) error
	fset  *token.FileSet

	mu      sync.Mutex
	exports map[string]string         // import path to export data file
	extra   map[string]*types.Package // packages given to Add
	gc      types.ImporterFrom
}

// newImporter returns an importer that resolves import paths as the go
// command run in dir does ("" for the current directory; a directory in
// a module resolves that module's packages and requirements too), with
// the go command's environment env (nil for the kernel's) and a fetch
// function called for a package outside the standard library that the go
// command does not know yet (nil for none), which makes it known (the
// notebook's modules get it). fset receives the positions of imported
// objects.
func newImporter(fset *token.FileSet, dir string, env []string, fetch func(string) error) *Importer {
	im := &Importer{dir: dir, env: env, fetch: fetch, fset: fset, exports: map[string]string{}, extra: map[string]*types.Package{}}
	im.gc = importer.ForCompiler(fset, "gc", im.lookup).(types.ImporterFrom)
	return im
}

// Renewed returns an importer that resolves imports as im does and reads
// every package anew, for a checker that must see the notebook's
// packages as edited since im read them. It keeps where the export data
// of the standard library is, which does not change while the kernel
// runs, so that go list does not run again for it; packages given to Add
// are not kept (their types refer to im's packages).
func (im *Importer) Renewed() *Importer {
	n := newImporter(im.fset, im.dir, im.env, im.fetch)
	im.mu.Lock()
	defer im.mu.Unlock()
	for p, f := range im.exports {
		if f != "" && stdpkg.IsStd(p) {
			n.exports[p] = f
		}
	}
	return n
}

// Add makes pkg importable by its path, ahead of the toolchain.
func (im *Importer) Add(pkg *types.Package) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.extra[pkg.Path()] = pkg
}

// Import imports the package at path.
func (im *Importer) Import(path string) (*types.Package, error) {
	return im.ImportFrom(path, im.dir, 0)
}

// ImportFrom imports the package at path (vendoring and dir are those of
// the Importer's directory).
func (im *Importer) ImportFrom(path, _ string, _ types.ImportMode) (*types.Package, error) {
	return im.importContext(context.Background(), path)
}

// importContext imports the package at path; cancelling ctx stops the go
// command.
func (im *Importer) importContext(ctx context.Context, path string) (*types.Package, error) {
	im.mu.Lock()
	p, ok := im.extra[path]
	im.mu.Unlock()
	if ok {
		return p, nil
	}
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	err := im.Resolve(ctx, path)
	im.mu.Lock()
	f, known := im.exports[path]
	im.mu.Unlock()
	if f == "" && im.fetch != nil && !stdpkg.IsStd(path) {
		if ferr := im.fetch(path); ferr != nil {
			return nil, ferr
		}
		im.forget()
		err = im.Resolve(ctx, path)
		im.mu.Lock()
		_, known = im.exports[path]
		im.mu.Unlock()
	}
	if err != nil && !known {
		return nil, err
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.gc.ImportFrom(path, im.dir, 0)
}

// Resolve finds the export data of the packages at paths, and of what
// they import, with one run of `go list` for those not found yet. Calling
// it ahead of a check saves a run of the go command per package.
// Cancelling ctx stops the go command.
func (im *Importer) Resolve(ctx context.Context, paths ...string) error {
	im.mu.Lock()
	var missing []string
	for _, p := range paths {
		if _, ok := im.exports[p]; !ok && im.extra[p] == nil && p != "unsafe" && p != "C" {
			missing = append(missing, p)
		}
	}
	im.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	// The standard library is listed outside any module, with no flags:
	// the notebook's module directory may not exist yet, and its
	// settings do not change what a standard package is.
	var std, other []string
	for _, p := range missing {
		if stdpkg.IsStd(p) {
			std = append(std, p)
		} else {
			other = append(other, p)
		}
	}
	found := map[string]string{}
	var errs []error
	goCmd, err := gotool.Find(os.Environ())
	if err != nil {
		return fmt.Errorf("type-checking imports needs the Go toolchain: %w", err)
	}
	// Never a download: what is not in the module cache is for the fetch
	// function to get, visibly.
	modEnv := im.env
	if modEnv == nil {
		modEnv = gotool.Env(os.Environ(), gotool.Policy{UserFlags: true})
	}
	for _, run := range []struct {
		dir   string
		env   []string
		paths []string
	}{{os.TempDir(), gotool.Env(os.Environ(), gotool.Policy{Offline: true, Work: "off"}), std}, {im.dir, append(modEnv[:len(modEnv):len(modEnv)], "GOPROXY=off"), other}} {
		if len(run.paths) == 0 {
			continue
		}
		f, err := gotool.ListExport(ctx, goCmd, run.dir, run.env, run.paths)
		for p, e := range f {
			found[p] = e
		}
		errs = append(errs, err)
	}
	err = errors.Join(errs...)
	im.mu.Lock()
	for p, f := range found {
		im.exports[p] = f
	}
	if len(found) > 0 {
		for _, p := range missing {
			if _, ok := found[p]; !ok {
				im.exports[p] = "" // not resolvable from dir: do not ask again
			}
		}
	}
	im.mu.Unlock()
	return err
}

// forget drops what the go command did not know, to ask again once
// modules changed.
func (im *Importer) forget() {
	im.mu.Lock()
	defer im.mu.Unlock()
	for p, f := range im.exports {
		if f == "" {
			delete(im.exports, p)
		}
	}
}

// lookup opens the export data of path for the gc importer.
func (im *Importer) lookup(path string) (io.ReadCloser, error) {
	f, ok := im.exports[path] // im.mu is held by ImportFrom
	if !ok {
		return nil, fmt.Errorf("go list -export did not list package %s", path)
	}
	if f == "" {
		return nil, fmt.Errorf("package %s is not known to the go command", path)
	}
	return os.Open(f)
}
