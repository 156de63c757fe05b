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

// TestKindsDocumented checks that README.md's table of error names lists
// every Kind declared in errors.go.
func TestKindsDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
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
		if !strings.Contains(string(readme), "| `"+k+"`") && !strings.Contains(string(readme), ", `"+k+"`") {
			t.Errorf("README.md's table of error names does not list %s", k)
		}
	}
}
