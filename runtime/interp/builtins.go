package interp

import (
	"cmp"
	"fmt"
	"reflect"

	"github.com/traefik/yaegi/stdlib"
	yaegiunsafe "github.com/traefik/yaegi/stdlib/unsafe"

	"github.com/perfnb/perfnb/runtime/display"
	"github.com/perfnb/perfnb/runtime/stdpkg"
)

// The builtins yaegi v0.16 lacks (min, max and clear, Go 1.21), as
// functions of perfnb's runtime package: the type checker rewrites a call
// of them into a call of these (check.Program.Fixes), so that the
// interpreter keeps such cells. They are compiled Go, so they give what
// Go's builtins give, NaN and negative zero included.

// ordered lists the basic ordered types, by the names the rewrite uses.
func builtinSymbols() map[string]reflect.Value {
	m := map[string]reflect.Value{
		"Clear": reflect.ValueOf(clearValue),
		"ShowString": reflect.ValueOf(func(s fmt.Stringer) string {
			return shown(s == nil, "String", func() string { return s.String() })
		}),
		"ShowError": reflect.ValueOf(func(e error) string {
			return shown(e == nil, "Error", func() string { return e.Error() })
		}),
	}
	addOrdered[int](m, "Int")
	addOrdered[int8](m, "Int8")
	addOrdered[int16](m, "Int16")
	addOrdered[int32](m, "Int32")
	addOrdered[int64](m, "Int64")
	addOrdered[uint](m, "Uint")
	addOrdered[uint8](m, "Uint8")
	addOrdered[uint16](m, "Uint16")
	addOrdered[uint32](m, "Uint32")
	addOrdered[uint64](m, "Uint64")
	addOrdered[uintptr](m, "Uintptr")
	addOrdered[float32](m, "Float32")
	addOrdered[float64](m, "Float64")
	addOrdered[string](m, "String")
	return m
}

// addOrdered adds MinK and MaxK for the type T named K.
func addOrdered[T cmp.Ordered](m map[string]reflect.Value, k string) {
	m["Min"+k] = reflect.ValueOf(func(x T, ys ...T) T {
		for _, y := range ys {
			x = min(x, y)
		}
		return x
	})
	m["Max"+k] = reflect.ValueOf(func(x T, ys ...T) T {
		for _, y := range ys {
			x = max(x, y)
		}
		return x
	})
}

// clearValue is clear(x) for a map or a slice.
func clearValue(x any) {
	if v := reflect.ValueOf(x); v.Kind() == reflect.Map || v.Kind() == reflect.Slice {
		v.Clear()
	}
}

// RuntimeName is the name under which interpreted code reaches perfnb's
// runtime package (check.Program.Fixes calls its functions by it).
const RuntimeName = rtAlias

// Capabilities tells the type checker what the interpreter can run (see
// check.Interpreter).
type Capabilities struct{}

// Has reports whether the interpreter's standard library has the member
// name of the package at path. Members of packages it does not list
// (the notebook's own, third-party ones through plugins) are assumed
// present; slices, maps and cmp, which yaegi runs from their source, only
// have generic functions, which the checker routes to the compiler.
func (Capabilities) Has(path, name string) bool {
	switch path {
	case display.ImportPath:
		return true
	case "unsafe":
		_, ok := yaegiunsafe.Symbols["unsafe/unsafe"][name]
		return ok
	}
	syms, ok := stdlib.Symbols[path+"/"+stdPackageName(path)]
	if !ok {
		return !stdpkg.IsStd(path)
	}
	if len(syms) == 0 {
		return true // a package yaegi reads from source
	}
	_, ok = syms[name]
	return ok
}

// shown returns what fmt's %v shows of a value whose method name (String
// or Error) m calls: "<nil>" for nil, and fmt's %!v(PANIC=...) when m
// panics.
func shown(isNil bool, name string, m func() string) (text string) {
	if isNil {
		return "<nil>"
	}
	defer func() {
		if r := recover(); r != nil {
			text = fmt.Sprintf("%%!v(PANIC=%s method: %v)", name, r)
		}
	}()
	return m()
}
