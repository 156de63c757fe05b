package session

import (
	"testing"

	"github.com/perfnb/perfnb/runtime/cell"
)

// namingEval is an evaluator that knows the names of imported packages.
type namingEval struct {
	fakeEval
	names map[string]string
}

func (n *namingEval) PackageName(path string) (string, bool) {
	name, ok := n.names[path]
	return name, ok
}

func TestNamedImports(t *testing.T) {
	ev := &namingEval{names: map[string]string{"github.com/goccy/go-json": "json", "example.com/x/v2": "x"}}
	s := newSession(Options{}, ev)
	tests := []struct{ source, want string }{
		{`import "github.com/goccy/go-json"`, `import json "github.com/goccy/go-json"`},
		{"import `example.com/x/v2`", `import x "example.com/x/v2"`},
		{`import j "github.com/goccy/go-json"`, `import j "github.com/goccy/go-json"`},
		{`import "strings"`, `import "strings"`},
	}
	for _, tt := range tests {
		got := s.namedImports([]cell.Decl{{Kind: cell.ImportDecl, Source: tt.source}})
		if got[0].Source != tt.want {
			t.Errorf("%s: got %s, want %s", tt.source, got[0].Source, tt.want)
		}
	}
}
