package interp

import (
	"reflect"
	"unsafe"

	yaegi "github.com/traefik/yaegi/interp"
)

// forgetRoots drops yaegi's record of the syntax trees of every
// evaluation (Interpreter.roots, which only its debugger reads): without
// it, each cell's tree stays in memory for the kernel's life, and a
// notebook of 25,000 trivial cells grew by kilobytes a cell. The trees
// that declarations need stay reachable from yaegi's scopes. yaegi
// v0.16.1 offers no way to do this; reflection reaches the unexported
// field, and does nothing when the field is not there (another version).
func forgetRoots(yi *yaegi.Interpreter) {
	f := reflect.ValueOf(yi).Elem().FieldByName("roots")
	if !f.IsValid() || f.Kind() != reflect.Slice || f.Len() == 0 {
		return
	}
	f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
	f.Set(reflect.Zero(f.Type()))
}
