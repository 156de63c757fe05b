package native

import (
	"go/token"
	"go/types"
	"strings"
	"testing"
)

// TestNameable checks which types the generated file can write: those of
// the notebook and the exported ones of importable packages, not an
// unexported or internal package's type, a type local to a function, or
// a type literal with another package's unexported field.
func TestNameable(t *testing.T) {
	mainPkg := types.NewPackage("main", "main")
	lib := types.NewPackage("example.com/lib", "lib")
	internal := types.NewPackage("example.com/internal/lib", "lib")
	named := func(pkg *types.Package, name string, scope *types.Scope) types.Type {
		obj := types.NewTypeName(token.NoPos, pkg, name, nil)
		types.NewNamed(obj, types.Typ[types.Int], nil)
		if scope != nil {
			scope.Insert(obj)
		}
		return obj.Type()
	}
	field := func(pkg *types.Package, name string) types.Type {
		return types.NewStruct([]*types.Var{types.NewField(token.NoPos, pkg, name, types.Typ[types.Int], false)}, nil)
	}
	exported := named(lib, "T", lib.Scope())
	sig := func(param types.Type) *types.Signature {
		return types.NewSignatureType(nil, nil, nil, types.NewTuple(types.NewParam(token.NoPos, lib, "x", param)), nil, false)
	}
	iface := func(pkg *types.Package, method string) types.Type {
		return types.NewInterfaceType([]*types.Func{types.NewFunc(token.NoPos, pkg, method, sig(types.Typ[types.Int]))}, nil)
	}
	for _, tt := range []struct {
		name string
		t    types.Type
		want bool
		src  string // what typeSource writes, when nameable
	}{
		{"basic", types.Typ[types.Int], true, "int"},
		{"error", types.Universe.Lookup("error").Type(), true, "error"},
		{"notebook's type", named(mainPkg, "T", mainPkg.Scope()), true, "T"},
		{"exported type", types.NewSlice(exported), true, "[]perfnbT_example_com_lib.T"},
		{"map of them", types.NewMap(types.Typ[types.String], types.NewPointer(exported)), true, "map[string]*perfnbT_example_com_lib.T"},
		{"notebook's field", field(mainPkg, "a"), true, "struct{a int}"},
		{"exported field", field(lib, "A"), true, "struct{A int}"},
		{"unexported type", named(lib, "t", lib.Scope()), false, ""},
		{"internal package", named(internal, "T", internal.Scope()), false, ""},
		{"local type", named(mainPkg, "L", types.NewScope(mainPkg.Scope(), token.NoPos, token.NoPos, "func")), false, ""},
		{"unexported field", types.NewPointer(field(lib, "a")), false, ""},
		{"func", sig(exported), true, "func(x perfnbT_example_com_lib.T)"},
		{"interface", iface(lib, "M"), true, "interface{M(x int)}"},
		{"func of an unexported type", sig(named(lib, "u", lib.Scope())), false, ""},
		{"interface of an unexported method", iface(lib, "m"), false, ""},
		{"unsafe.Pointer", types.NewSlice(types.Typ[types.UnsafePointer]), false, ""},
		{"invalid", types.Typ[types.Invalid], false, ""},
		{"untyped", types.Typ[types.UntypedInt], false, ""},
	} {
		if got := nameable(tt.t); got != tt.want {
			t.Errorf("%s: nameable(%s) = %v, want %v", tt.name, tt.t, got, tt.want)
		}
		if tt.want {
			imports := map[string]string{}
			if got := typeSource(tt.t, imports); got != tt.src {
				t.Errorf("%s: typeSource(%s) = %q, want %q", tt.name, tt.t, got, tt.src)
			}
			if p, ok := imports["perfnbT_example_com_lib"]; ok != strings.Contains(tt.src, "perfnbT_") || ok && p != lib.Path() {
				t.Errorf("%s: imports %v", tt.name, imports)
			}
		}
	}
}
