package native

// Types the type checker gave the notebook's variables, written in the
// generated file: the declarations of carried variables (carry.go) and
// of the variables a compiled cell declares (cell.go) are typed with
// them, so that the program is not type-checked a second time.

import (
	"go/types"
	"strings"
)

// typeSource returns t as Go source in the generated file: the
// notebook's own types (package main) by their names, other packages'
// through an import of their own, which it adds to imports (local name
// to import path).
func typeSource(t types.Type, imports map[string]string) string {
	return types.TypeString(t, func(p *types.Package) string {
		switch p.Path() {
		case "main":
			return ""
		case interpDisplayPath, displayPackage:
			imports["perfnbT_display"] = displayPath
			return "perfnbT_display"
		}
		name := "perfnbT_" + strings.NewReplacer(".", "_", "-", "_", "/", "_").Replace(p.Path())
		imports[name] = p.Path()
		return name
	})
}

// nameable reports whether typeSource writes t so that the generated
// file denotes the same type: every named type in it is the notebook's
// or an exported type of a package the workspace may import, and no
// struct field or interface method in it is unexported from another
// package.
func nameable(t types.Type) bool {
	switch t := t.(type) {
	case *types.Basic:
		return t.Kind() != types.Invalid && t.Kind() != types.UnsafePointer && t.Info()&types.IsUntyped == 0
	case *types.Named:
		return nameableObj(t.Obj()) && nameableArgs(t.TypeArgs())
	case *types.Alias:
		return nameableObj(t.Obj()) && nameableArgs(t.TypeArgs())
	case *types.Pointer:
		return nameable(t.Elem())
	case *types.Slice:
		return nameable(t.Elem())
	case *types.Array:
		return nameable(t.Elem())
	case *types.Chan:
		return nameable(t.Elem())
	case *types.Map:
		return nameable(t.Key()) && nameable(t.Elem())
	case *types.Struct:
		for i := range t.NumFields() {
			if f := t.Field(i); !visible(f) || !nameable(f.Type()) {
				return false
			}
		}
		return true
	case *types.Signature:
		return nameableTuple(t.Params()) && nameableTuple(t.Results())
	case *types.Interface:
		for i := range t.NumExplicitMethods() {
			if m := t.ExplicitMethod(i); !visible(m) || !nameable(m.Type()) {
				return false
			}
		}
		for i := range t.NumEmbeddeds() {
			if !nameable(t.EmbeddedType(i)) {
				return false
			}
		}
		return true
	case *types.Union:
		for i := range t.Len() {
			if !nameable(t.Term(i).Type()) {
				return false
			}
		}
		return true
	}
	return false // a type parameter, or a type go/types added since
}

// nameableObj reports whether the type name obj can be written in the
// generated file: a predeclared type, a package-level type of the
// notebook, or an exported package-level type of an importable package.
func nameableObj(obj *types.TypeName) bool {
	pkg := obj.Pkg()
	if pkg == nil {
		return true // error, comparable
	}
	if obj.Parent() != nil && obj.Parent() != pkg.Scope() {
		return false // declared inside a function
	}
	return pkg.Path() == "main" || obj.Exported() && importable(pkg.Path())
}

// visible reports whether a field or method of a type literal can be
// written in the generated file (an unexported one of another package
// cannot).
func visible(obj types.Object) bool {
	return obj.Exported() || obj.Pkg() == nil || obj.Pkg().Path() == "main"
}

// importable reports whether the workspace's module may import the
// package at path: not an internal or vendored package of another module.
func importable(path string) bool {
	for _, elem := range strings.Split(path, "/") {
		if elem == "internal" || elem == "vendor" {
			return false
		}
	}
	return true
}

func nameableArgs(args *types.TypeList) bool {
	for i := range args.Len() {
		if !nameable(args.At(i)) {
			return false
		}
	}
	return true
}

func nameableTuple(tuple *types.Tuple) bool {
	for i := range tuple.Len() {
		if !nameable(tuple.At(i).Type()) {
			return false
		}
	}
	return true
}
