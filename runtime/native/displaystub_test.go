package native

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/runtime/display"
)

// TestDisplayStubMatchesDisplay ties the workspace's display stub to the
// API cells call in the interpreter (runtime/display's Symbols and the
// methods of its Handle): same names, same signatures.
func TestDisplayStubMatchesDisplay(t *testing.T) {
	want := map[string]string{}
	for name, v := range display.New(nil).Symbols() {
		if name != "Handle" {
			want[name] = signature(v.Type(), 0)
		}
	}
	ht := reflect.TypeOf((*display.Handle)(nil))
	for i := range ht.NumMethod() {
		m := ht.Method(i)
		want["Handle."+m.Name] = signature(m.Type, 1)
	}

	f, err := parser.ParseFile(token.NewFileSet(), "display.go", displayStub, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || !fd.Name.IsExported() {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil {
			name = "Handle." + name
		}
		got[name] = astSignature(fd.Type)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if got[name] != want[name] {
			t.Errorf("%s: the stub has %q, runtime/display has %q", name, got[name], want[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[name]; !ok {
			t.Errorf("the stub has %s, which runtime/display does not export to cells", name)
		}
	}
}

// signature writes a func type as "func(string) *Handle", skipping the
// first skip parameters (a method's receiver).
func signature(t reflect.Type, skip int) string {
	var in, out []string
	for i := skip; i < t.NumIn(); i++ {
		in = append(in, t.In(i).String())
	}
	for i := range t.NumOut() {
		out = append(out, t.Out(i).String())
	}
	s := "func(" + strings.Join(in, ", ") + ")"
	if len(out) > 0 {
		s += " " + strings.Join(out, ", ")
	}
	return strings.NewReplacer("display.", "", "interface {}", "any", "uint8", "byte").Replace(s)
}

// astSignature writes a declared func type the way signature does.
func astSignature(ft *ast.FuncType) string {
	list := func(fl *ast.FieldList) []string {
		var out []string
		if fl == nil {
			return nil
		}
		for _, f := range fl.List {
			for range max(len(f.Names), 1) {
				out = append(out, types.ExprString(f.Type))
			}
		}
		return out
	}
	s := "func(" + strings.Join(list(ft.Params), ", ") + ")"
	if res := list(ft.Results); len(res) > 0 {
		s += " " + strings.Join(res, ", ")
	}
	return s
}
