package interp

import (
	"fmt"
	"go/types"
	"reflect"
	"strings"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
)

// undefinedName looks in the item that a analyses for the first
// identifier that is declared neither in the item nor in the interpreter
// (by a cell, SetVar or an import), is not predeclared and is not a
// package that can be imported on first use. It returns the name and its
// 1-based line and column in the item, or ok false when every name is
// known (or the item does not parse: a is nil).
//
// yaegi reports some undefined names at the top level as a "constant
// definition loop"; Eval uses this to give the real error instead. It must
// be called before the item is evaluated: a failed evaluation leaves the
// undefined names in yaegi's scope.
func (i *Interp) undefinedName(a *analysis) (name string, line, col int, ok bool) {
	if a == nil {
		return "", 0, 0, false
	}
	for _, id := range a.file.Unresolved {
		if i.known(id.Name) {
			continue
		}
		// Names that yaegi holds without the log knowing them (a var
		// statement inside a Statement item) evaluate, or fail otherwise.
		// After a failed use, yaegi keeps the name as an "incomplete
		// type" rather than forgetting it; only using it says so.
		_, err := evalQuiet(i.yi, "_ = "+id.Name)
		if err == nil || !strings.Contains(err.Error(), "undefined: "+id.Name) && !strings.Contains(err.Error(), "incomplete type "+id.Name) {
			continue
		}
		line, col := a.pt.LineCol(id.Pos())
		return id.Name, line, col, true
	}
	return "", 0, 0, false
}

// known reports whether name is predeclared or declared in the
// interpreter, or a package that can be imported on first use.
func (i *Interp) known(name string) bool {
	if types.Universe.Lookup(name) != nil || name == rtAlias || name == varsAlias || strings.HasPrefix(name, "_pnb") {
		return true
	}
	if _, ok := i.log.get(name); ok {
		return true
	}
	if _, ok := i.imports[name]; ok {
		return true
	}
	if _, ok := i.vars[name]; ok {
		return true
	}
	_, ok := stdPackages()[name]
	return ok
}

// undefinedError returns the compile error naming an undefined identifier
// of the item, or nil when there is none.
func (i *Interp) undefinedError(a *analysis, item cell.Item, count int) *protocol.Error {
	name, l, c, ok := i.undefinedName(a)
	if !ok {
		return nil
	}
	return compileError(fmt.Sprintf("%s: undefined: %s", cell.Pos{Cell: count, Line: item.Line + l - 1, Col: c}, name), count, item.Line)
}

// intGlobal reports whether name, a cell-level variable or constant or a
// package member pkg.Name, has an integer type in the interpreter.
func (i *Interp) intGlobal(name string) bool {
	if pkg, _, ok := strings.Cut(name, "."); ok {
		if _, imported := i.imports[pkg]; !imported {
			return false
		}
	} else {
		d, ok := i.log.get(name)
		_, set := i.vars[name]
		if !set && (!ok || (d.Kind != cell.VarDecl && d.Kind != cell.ConstDecl)) {
			return false
		}
	}
	v, err := evalQuiet(i.yi, name)
	if err != nil || !v.IsValid() {
		return false
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// intResult returns the name of the predeclared integer type that name, a
// cell-level func or a package's func pkg.Func, returns as its only
// result, or "".
func (i *Interp) intResult(name string) string {
	if pkg, _, ok := strings.Cut(name, "."); ok {
		if _, imported := i.imports[pkg]; !imported {
			return ""
		}
	} else if d, ok := i.log.get(name); !ok || d.Kind != cell.FuncDecl {
		return ""
	}
	v, err := evalQuiet(i.yi, name)
	if err != nil || !v.IsValid() || v.Kind() != reflect.Func || v.Type().NumOut() != 1 {
		return ""
	}
	t := v.Type().Out(0)
	if t.PkgPath() != "" || !isIntType(t.Name()) {
		return ""
	}
	return t.Name()
}
