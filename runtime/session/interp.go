package session

import (
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/interp"
	"github.com/perfnb/perfnb/runtime/modules"
)

// newInterp starts the yaegi interpreter; decls gives it the declarations
// the running cell can use, and mods (when not nil) the packages outside
// the standard library.
func newInterp(decls func() []cell.Decl, mods *modules.Notebook) (evaluator, error) {
	opts := interp.Options{Decls: decls}
	if mods != nil {
		opts.Packages = mods
	}
	in, err := interp.New(opts)
	if err != nil {
		return nil, err
	}
	return in, nil
}
