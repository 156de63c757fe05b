package session

import (
	"context"
	"go/token"
	"io"
	"path/filepath"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/check"
	"github.com/perfnb/perfnb/runtime/display"
	"github.com/perfnb/perfnb/runtime/interp"
	"github.com/perfnb/perfnb/runtime/modules"
	"github.com/perfnb/perfnb/runtime/stdpkg"
)

// newInterp starts the yaegi interpreter; mods (when not nil) gives it the
// packages outside the standard library. The interpreter keeps its own
// log of what its yaegi instance holds (see ARCHITECTURE.md, "Two records
// of declarations"); the store is the session's.
func newInterp(mods *modules.Notebook) (evaluator, error) {
	opts := interp.Options{}
	if mods != nil {
		opts.Packages = mods
	}
	in, err := interp.New(opts)
	if err != nil {
		return nil, err
	}
	return in, nil
}

// newChecker returns the type checker of the cells, with the display
// package and the packages the interpreter imports on first use. Imports
// resolve as the go command does in the notebook's module when mods is
// not nil (a package not required yet is got through mods, reporting to
// the cell being checked, see fetchTo), else in the kernel's directory.
// A checker that replaces prev (after an edit of the notebook's packages)
// reads every package again, but finds the standard library's export
// data where prev found it.
func newChecker(fset *token.FileSet, mods *modules.Notebook, to *fetchTo, prev *check.Checker) (*check.Checker, error) {
	// Every standard package is imported on first use for the check: the
	// interpreter imports those it has, and cells using the others run
	// compiled.
	opts := check.Options{Fset: fset, AutoImport: func(name string) (string, bool) {
		if p, ok := interp.AutoImport(name); ok {
			return p, true // the interpreter's, display included
		}
		return stdpkg.Path(name)
	}}
	if mods != nil {
		opts.Dir = mods.Dir()
		opts.Env = mods.Env(filepath.Join(mods.Dir(), "go.work"))
		opts.Fetch = func(path string) error {
			ctx, out := to.ctx, io.Discard
			if ctx == nil {
				ctx = context.Background()
			}
			if to.pub != nil {
				out = pubWriter{to.pub}
			}
			_, err := mods.Import(ctx, path, out)
			return err
		}
	}
	if prev != nil {
		opts.Importer = prev.Importer().Renewed()
	}
	c := check.New(opts)
	if err := c.AddPackage(display.ImportPath, "display", display.New(nil).Symbols()); err != nil {
		return nil, err
	}
	// Read the export data of the most used packages ahead of the first
	// cell.
	go func() {
		_ = c.Importer().Resolve(context.Background(), "fmt", "strings", "strconv", "os", "time", "math", "sort", "slices", "maps", "errors")
	}()
	return c, nil
}

// fetchTo is the cell being checked, to which getting a module reports.
type fetchTo struct {
	ctx context.Context
	pub protocol.Publisher
}

// pubWriter writes to the stdout stream of a cell.
type pubWriter struct{ pub protocol.Publisher }

func (w pubWriter) Write(p []byte) (int, error) {
	w.pub.Stream("stdout", string(p))
	return len(p), nil
}
