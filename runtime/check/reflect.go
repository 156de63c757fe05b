package check

import (
	"fmt"
	"go/token"
	"go/types"
	"path"
	"reflect"
	"sort"

	"github.com/perfnb/perfnb/runtime/stdpkg"
)

// reflected converts reflect types, which is how the interpreter knows the
// values given to it from Go (the display package, a %timeit -o result),
// into go/types types. Named types of packages the importer resolves are
// taken from there; others are rebuilt from reflection (exported fields
// and methods), once each.
type reflected struct {
	im    *Importer
	named map[reflect.Type]*types.Named
	pkgs  map[string]*types.Package
}

func newReflected(im *Importer) *reflected {
	return &reflected{im: im, named: map[reflect.Type]*types.Named{}, pkgs: map[string]*types.Package{}}
}

// Package builds a package from interpreter symbols: funcs and vars by
// their values, types as yaegi exports them (a nil pointer to the type).
func (r *reflected) Package(importPath, name string, symbols map[string]reflect.Value) (*types.Package, error) {
	pkg := types.NewPackage(importPath, name)
	r.pkgs[importPath] = pkg
	names := make([]string, 0, len(symbols))
	for n := range symbols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := symbols[n]
		switch {
		case v.Kind() == reflect.Pointer && v.IsNil():
			t, err := r.typ(v.Type().Elem())
			if err != nil {
				return nil, err
			}
			if named, ok := t.(*types.Named); ok {
				pkg.Scope().Insert(named.Obj())
			}
		case v.Kind() == reflect.Func:
			t, err := r.typ(v.Type())
			if err != nil {
				return nil, err
			}
			pkg.Scope().Insert(types.NewFunc(token.NoPos, pkg, n, t.(*types.Signature)))
		default:
			t, err := r.typ(v.Type())
			if err != nil {
				return nil, err
			}
			pkg.Scope().Insert(types.NewVar(token.NoPos, pkg, n, t))
		}
	}
	pkg.MarkComplete()
	return pkg, nil
}

var errorType = reflect.TypeFor[error]()

// typ converts t.
func (r *reflected) typ(t reflect.Type) (types.Type, error) {
	if t == errorType {
		return types.Universe.Lookup("error").Type(), nil
	}
	if t.Name() != "" && t.PkgPath() != "" {
		return r.namedType(t)
	}
	return r.structural(t)
}

// structural converts t by its kind, ignoring its name.
func (r *reflected) structural(t reflect.Type) (types.Type, error) {
	if k := t.Kind(); k <= reflect.Complex128 || k == reflect.String || k == reflect.UnsafePointer {
		return basic(t)
	}
	switch t.Kind() {
	case reflect.Pointer:
		e, err := r.typ(t.Elem())
		return types.NewPointer(e), err
	case reflect.Slice:
		e, err := r.typ(t.Elem())
		return types.NewSlice(e), err
	case reflect.Array:
		e, err := r.typ(t.Elem())
		return types.NewArray(e, int64(t.Len())), err
	case reflect.Map:
		k, err := r.typ(t.Key())
		if err != nil {
			return nil, err
		}
		e, err := r.typ(t.Elem())
		return types.NewMap(k, e), err
	case reflect.Chan:
		e, err := r.typ(t.Elem())
		dir := map[reflect.ChanDir]types.ChanDir{reflect.BothDir: types.SendRecv, reflect.SendDir: types.SendOnly, reflect.RecvDir: types.RecvOnly}[t.ChanDir()]
		return types.NewChan(dir, e), err
	case reflect.Func:
		return r.signature(t, nil)
	case reflect.Struct:
		return r.structType(t)
	case reflect.Interface:
		return r.interfaceType(t)
	}
	return nil, fmt.Errorf("cannot describe type %s", t)
}

func basic(t reflect.Type) (types.Type, error) {
	kinds := map[reflect.Kind]types.BasicKind{
		reflect.Bool: types.Bool, reflect.Int: types.Int, reflect.Int8: types.Int8, reflect.Int16: types.Int16,
		reflect.Int32: types.Int32, reflect.Int64: types.Int64, reflect.Uint: types.Uint, reflect.Uint8: types.Uint8,
		reflect.Uint16: types.Uint16, reflect.Uint32: types.Uint32, reflect.Uint64: types.Uint64, reflect.Uintptr: types.Uintptr,
		reflect.Float32: types.Float32, reflect.Float64: types.Float64, reflect.Complex64: types.Complex64,
		reflect.Complex128: types.Complex128, reflect.String: types.String, reflect.UnsafePointer: types.UnsafePointer,
	}
	k, ok := kinds[t.Kind()]
	if !ok {
		return nil, fmt.Errorf("cannot describe type %s", t)
	}
	return types.Typ[k], nil
}

// namedType returns the named type t: the importer's for a standard
// package, else one rebuilt from reflection (perfnb's own packages are
// not known to the go command where the kernel runs).
func (r *reflected) namedType(t reflect.Type) (types.Type, error) {
	if n, ok := r.named[t]; ok {
		return n, nil
	}
	if _, own := r.pkgs[t.PkgPath()]; !own && stdpkg.IsStd(t.PkgPath()) {
		if p, err := r.im.Import(t.PkgPath()); err == nil {
			if obj, ok := p.Scope().Lookup(t.Name()).(*types.TypeName); ok {
				return obj.Type(), nil
			}
		}
	}
	pkg, ok := r.pkgs[t.PkgPath()]
	if !ok {
		pkg = types.NewPackage(t.PkgPath(), path.Base(t.PkgPath()))
		pkg.MarkComplete()
		r.pkgs[t.PkgPath()] = pkg
	}
	obj := types.NewTypeName(token.NoPos, pkg, t.Name(), nil)
	named := types.NewNamed(obj, nil, nil)
	r.named[t] = named
	u, err := r.structural(t)
	if err != nil {
		return nil, err
	}
	named.SetUnderlying(u.Underlying())
	if t.Kind() != reflect.Interface {
		if err := r.methods(named, t); err != nil {
			return nil, err
		}
	}
	return named, nil
}

// methods adds the exported methods of t and *t to named.
func (r *reflected) methods(named *types.Named, t reflect.Type) error {
	seen := map[string]bool{}
	for _, rt := range []reflect.Type{t, reflect.PointerTo(t)} {
		for k := 0; k < rt.NumMethod(); k++ {
			m := rt.Method(k)
			if seen[m.Name] {
				continue
			}
			seen[m.Name] = true
			recvType := types.Type(named)
			if rt.Kind() == reflect.Pointer && t.Kind() != reflect.Pointer {
				recvType = types.NewPointer(named)
			}
			recv := types.NewVar(token.NoPos, named.Obj().Pkg(), "", recvType)
			sig, err := r.signature(m.Type, recv)
			if err != nil {
				return err
			}
			named.AddMethod(types.NewFunc(token.NoPos, named.Obj().Pkg(), m.Name, sig))
		}
	}
	return nil
}

// signature converts a func type; with recv, the first parameter of t is
// the receiver (as in reflect's Method.Type).
func (r *reflected) signature(t reflect.Type, recv *types.Var) (*types.Signature, error) {
	first := 0
	if recv != nil {
		first = 1
	}
	var params, results []*types.Var
	for k := first; k < t.NumIn(); k++ {
		in := t.In(k)
		var pt types.Type
		var err error
		if t.IsVariadic() && k == t.NumIn()-1 {
			var e types.Type
			e, err = r.typ(in.Elem())
			pt = types.NewSlice(e)
		} else {
			pt, err = r.typ(in)
		}
		if err != nil {
			return nil, err
		}
		params = append(params, types.NewParam(token.NoPos, nil, "", pt))
	}
	for k := 0; k < t.NumOut(); k++ {
		rt, err := r.typ(t.Out(k))
		if err != nil {
			return nil, err
		}
		results = append(results, types.NewParam(token.NoPos, nil, "", rt))
	}
	return types.NewSignatureType(recv, nil, nil, types.NewTuple(params...), types.NewTuple(results...), t.IsVariadic()), nil
}

func (r *reflected) structType(t reflect.Type) (types.Type, error) {
	var fields []*types.Var
	var tags []string
	for k := 0; k < t.NumField(); k++ {
		f := t.Field(k)
		ft, err := r.typ(f.Type)
		if err != nil {
			return nil, err
		}
		var pkg *types.Package
		if !f.IsExported() {
			pkg = r.pkgs[t.PkgPath()]
		}
		fields = append(fields, types.NewField(token.NoPos, pkg, f.Name, ft, f.Anonymous))
		tags = append(tags, string(f.Tag))
	}
	return types.NewStruct(fields, tags), nil
}

func (r *reflected) interfaceType(t reflect.Type) (types.Type, error) {
	var methods []*types.Func
	for k := 0; k < t.NumMethod(); k++ {
		m := t.Method(k)
		sig, err := r.signature(m.Type, nil)
		if err != nil {
			return nil, err
		}
		methods = append(methods, types.NewFunc(token.NoPos, nil, m.Name, sig))
	}
	it := types.NewInterfaceType(methods, nil)
	it.Complete()
	return it, nil
}
