package native

// Types the type checker gave the notebook's variables, written in the
// generated file: the declarations of carried variables (carry.go) and
// of the variables a compiled cell declares (cell.go) are typed with
// them, so that the program is not type-checked a second time.

import (
	"go/types"
	"iter"
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
		return nameableObj(t.Obj()) && every(t.TypeArgs().Types(), nameable)
	case *types.Alias:
		return nameableObj(t.Obj()) && every(t.TypeArgs().Types(), nameable)
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
		return every(t.Fields(), nameableMember)
	case *types.Signature:
		return every(t.Params().Variables(), nameableVar) && every(t.Results().Variables(), nameableVar)
	case *types.Interface:
		return every(t.ExplicitMethods(), nameableMember) && every(t.EmbeddedTypes(), nameable)
	case *types.Union:
		return every(t.Terms(), func(term *types.Term) bool { return nameable(term.Type()) })
	}
	return false // a type parameter, or a type go/types added since
}

// every reports whether ok holds for every element of seq.
func every[T any](seq iter.Seq[T], ok func(T) bool) bool {
	for x := range seq {
		if !ok(x) {
			return false
		}
	}
	return true
}

// nameableVar reports whether a parameter's or result's type is
// nameable (its name does not matter).
func nameableVar(v *types.Var) bool { return nameable(v.Type()) }

// nameableMember reports whether a field or method of a type literal
// can be written in the generated file: its type is nameable, and it is
// not an unexported one of another package.
func nameableMember[T types.Object](obj T) bool {
	visible := obj.Exported() || obj.Pkg() == nil || obj.Pkg().Path() == "main"
	return visible && nameable(obj.Type())
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
