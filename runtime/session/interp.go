package session

import (
	"github.com/perfnb/perfnb/runtime/cell"
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
