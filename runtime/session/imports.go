package session

import (
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/runtime/cell"
)

// packageNamer is implemented by an evaluator that knows the name of a
// package it imported from outside the standard library (*interp.Interp).
type packageNamer interface {
	PackageName(path string) (name string, ok bool)
}

// namedImports returns decls with every import that names no package
// written with the package's own name, when the evaluator knows it: a
// module's package is not always named after its path's last element
// (github.com/goccy/go-json is json), and the magics' generated programs
// must import it under the name the cells use.
func (s *Session) namedImports(decls []cell.Decl) []cell.Decl {
	pn, ok := s.eval.(packageNamer)
	if !ok {
		return decls
	}
	for k, d := range decls {
		if d.Kind != cell.ImportDecl {
			continue
		}
		spec := strings.TrimSpace(strings.TrimPrefix(d.Source, "import"))
		if !strings.HasPrefix(spec, `"`) && !strings.HasPrefix(spec, "`") {
			continue // named, or a grouped spec with its doc
		}
		path, err := strconv.Unquote(spec)
		if err != nil {
			continue
		}
		if name, ok := pn.PackageName(path); ok {
			decls[k].Source = "import " + name + " " + strconv.Quote(path)
		}
	}
	return decls
}
