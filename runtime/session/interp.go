package session

import (
	"go/token"

	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/check"
	"github.com/perfnb/perfnb/runtime/display"
	"github.com/perfnb/perfnb/runtime/interp"
)

// newInterp starts the yaegi interpreter; decls gives it the declarations
// the running cell can use.
func newInterp(decls func() []cell.Decl) (evaluator, error) {
	in, err := interp.New(interp.Options{Decls: decls})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// newChecker returns the type checker of the cells, resolving imports from
// dir (see check.Options.Dir), with the display package and the packages
// the interpreter imports on first use.
func newChecker(fset *token.FileSet, dir string) (*check.Checker, error) {
	c := check.New(check.Options{Fset: fset, Dir: dir, AutoImport: interp.AutoImport})
	if err := c.AddPackage(display.ImportPath, "display", display.New(nil).Symbols()); err != nil {
		return nil, err
	}
	// Read the export data of the most used packages ahead of the first
	// cell.
	go func() {
		_ = c.Importer().Resolve("fmt", "strings", "strconv", "os", "time", "math", "sort", "slices", "maps", "errors")
	}()
	return c, nil
}
