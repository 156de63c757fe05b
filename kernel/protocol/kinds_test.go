package protocol

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestKindsDocumented checks that docs/errors.md, the table of the error
// names a cell can end with, lists every Kind declared in errors.go.
func TestKindsDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Values) == 1 {
			if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Kind" {
				if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
					v, _ := strconv.Unquote(lit.Value)
					kinds = append(kinds, v)
				}
			}
		}
		return true
	})
	if len(kinds) < 10 {
		t.Fatalf("found %d kinds in errors.go: %q", len(kinds), kinds)
	}
	for _, k := range kinds {
		if !strings.Contains(string(doc), "| `"+k+"`") && !strings.Contains(string(doc), ", `"+k+"`") {
			t.Errorf("docs/errors.md's table of error names does not list %s", k)
		}
	}
}
