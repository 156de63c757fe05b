package runner

import (
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/internal/nbformat"
	"github.com/perfnb/perfnb/runtime/cell"
)

// Parameter is a value given on the command line for a notebook
// parameter, as papermill's -p NAME VALUE.
type Parameter struct {
	Name, Value string
}

// ParameterError is a parameter that cannot be injected: an unknown name,
// a value that is not of the parameter's type, or a notebook without a
// cell tagged parameters.
type ParameterError struct {
	Msg string
}

func (e *ParameterError) Error() string { return e.Msg }

func paramErrorf(format string, args ...any) error {
	return &ParameterError{Msg: fmt.Sprintf(format, args...)}
}

// declaredParameter is a variable or constant of the parameters cell.
type declaredParameter struct {
	isConst bool
	typ     types.Type // nil when it could not be type-checked
}

// injectParameters inserts, after the first code cell tagged parameters,
// a code cell tagged injected-parameters that declares each parameter
// again with its new value, as a Go literal of its declared type: var n
// int = 42 (a declaration, not an assignment, so that the natively
// compiled magics see the value too). A cell tagged injected-parameters
// left by an earlier run is replaced. Without parameters, the notebook is
// left as it is.
func injectParameters(doc *nbformat.Document, params []Parameter) error {
	if len(params) == 0 {
		return nil
	}
	doc.Cells = slices.DeleteFunc(doc.Cells, func(c *nbformat.Cell) bool { return c.HasTag(nbformat.InjectedTag) })
	at := slices.IndexFunc(doc.Cells, func(c *nbformat.Cell) bool { return c.Type == "code" && c.HasTag(nbformat.ParametersTag) })
	if at < 0 {
		return paramErrorf("-p %s: the notebook has no code cell tagged %q to take parameters from (add the tag in Jupyter: View > Cell toolbar > Tags)", params[0].Name, nbformat.ParametersTag)
	}
	declared, order, err := declaredParameters(doc.Cells[at].Source)
	if err != nil {
		return err
	}
	var src strings.Builder
	src.WriteString("// Parameters injected by perfnb run -p\n")
	for i, p := range params {
		if slices.ContainsFunc(params[i+1:], func(q Parameter) bool { return q.Name == p.Name }) {
			continue // given again later: the last value wins, as in papermill
		}
		d, ok := declared[p.Name]
		if !ok {
			return paramErrorf("-p %s: the cell tagged %q declares no %s (it declares: %s)", p.Name, nbformat.ParametersTag, p.Name, strings.Join(order, ", "))
		}
		line, err := d.declaration(p)
		if err != nil {
			return err
		}
		src.WriteString(line + "\n")
	}
	injected := nbformat.NewCodeCell(strings.TrimSuffix(src.String(), "\n"), nbformat.InjectedTag)
	doc.Cells = slices.Insert(doc.Cells, at+1, injected)
	return nil
}

// declaredParameters type-checks the parameters cell and returns its
// package-level variables and constants, and their names in cell order.
func declaredParameters(src string) (map[string]declaredParameter, []string, error) {
	items, err := cell.Parse(src)
	if err != nil {
		return nil, nil, paramErrorf("the cell tagged %q does not parse: %v", nbformat.ParametersTag, err)
	}
	var file strings.Builder
	file.WriteString("package p\n")
	out := map[string]declaredParameter{}
	var order []string
	for _, it := range items {
		for _, d := range it.Decls {
			if d.Kind == cell.ImportDecl || d.Kind == cell.VarDecl || d.Kind == cell.ConstDecl || d.Kind == cell.TypeDecl {
				file.WriteString(d.Source + "\n")
			}
			if (d.Kind == cell.VarDecl || d.Kind == cell.ConstDecl) && d.Name != "_" {
				if _, seen := out[d.Name]; !seen {
					order = append(order, d.Name)
				}
				out[d.Name] = declaredParameter{isConst: d.Kind == cell.ConstDecl}
			}
		}
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "parameters.go", file.String(), 0)
	if err != nil {
		return out, order, nil // types unknown: values are checked by the cell itself
	}
	if imports := implicitImports(f); imports != "" {
		// perfnb imports a standard package on first use: do so here too.
		src := strings.Replace(file.String(), "package p\n", "package p\n"+imports, 1)
		if f2, err := parser.ParseFile(fset, "parameters.go", src, 0); err == nil {
			f = f2
		}
	}
	conf := types.Config{Importer: importer.Default(), Error: func(error) {}}
	pkg, _ := conf.Check("p", fset, []*ast.File{f}, nil)
	for name, d := range out {
		if obj := pkg.Scope().Lookup(name); obj != nil && obj.Type() != nil && obj.Type() != types.Typ[types.Invalid] {
			d.typ = obj.Type()
			out[name] = d
		}
	}
	return out, order, nil
}

// implicitImports returns import declarations for the packages f uses
// without importing them (time in time.Duration), by their names, which
// are the import paths of most standard packages.
func implicitImports(f *ast.File) string {
	imported := map[string]bool{}
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		imported[path[strings.LastIndex(path, "/")+1:]] = true
		if im.Name != nil {
			imported[im.Name.Name] = true
		}
	}
	var b strings.Builder
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && !imported[id.Name] && f.Scope.Lookup(id.Name) == nil {
			imported[id.Name] = true
			fmt.Fprintf(&b, "import %q\n", id.Name)
		}
		return true
	})
	return b.String()
}

// declaration is the Go declaration giving p's value to the parameter:
// "var n int = 42", "const name = \"x\"".
func (d declaredParameter) declaration(p Parameter) (string, error) {
	keyword := "var"
	if d.isConst {
		keyword = "const"
	}
	if d.typ == nil {
		return "", paramErrorf("-p %s: the type of %s could not be worked out from the cell tagged %q", p.Name, p.Name, nbformat.ParametersTag)
	}
	basic, ok := d.typ.Underlying().(*types.Basic)
	if !ok {
		return "", paramErrorf("-p %s: %s has type %s; -p gives values to bool, integer, float and string parameters", p.Name, p.Name, d.typ)
	}
	lit, err := literal(basic, p.Value)
	if err != nil {
		return "", paramErrorf("-p %s %s: %s has type %s: %v", p.Name, strconv.Quote(p.Value), p.Name, d.typ, err)
	}
	if basic.Info()&types.IsUntyped != 0 {
		return fmt.Sprintf("%s %s = %s", keyword, p.Name, lit), nil
	}
	typ := types.TypeString(d.typ, func(pkg *types.Package) string {
		if pkg.Path() == "p" {
			return ""
		}
		return pkg.Name()
	})
	return fmt.Sprintf("%s %s %s = %s", keyword, p.Name, typ, lit), nil
}

// literal writes value as a Go literal of the basic type t.
func literal(t *types.Basic, value string) (string, error) {
	info := t.Info()
	v := strings.TrimSpace(value)
	switch {
	case info&types.IsBoolean != 0:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "", errors.New("the value is not true or false")
		}
		return strconv.FormatBool(b), nil
	case info&types.IsInteger != 0:
		bits := sizeOf(t)
		var err error
		if info&types.IsUnsigned != 0 {
			_, err = strconv.ParseUint(v, 0, bits)
		} else {
			_, err = strconv.ParseInt(v, 0, bits)
		}
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return "", errors.New("the value is out of its range")
			}
			return "", errors.New("the value is not a whole number")
		}
		return v, nil
	case info&types.IsFloat != 0:
		f, err := strconv.ParseFloat(v, sizeOf(t))
		if err != nil {
			return "", errors.New("the value is not a number")
		}
		return strconv.FormatFloat(f, 'g', -1, sizeOf(t)), nil
	case info&types.IsString != 0:
		return strconv.Quote(value), nil
	}
	return "", fmt.Errorf("-p gives values to bool, integer, float and string parameters")
}

// sizeOf is the size in bits of a basic numeric type, 64 for int, uint,
// uintptr and untyped constants.
func sizeOf(t *types.Basic) int {
	switch t.Kind() {
	case types.Int8, types.Uint8:
		return 8
	case types.Int16, types.Uint16:
		return 16
	case types.Int32, types.Uint32, types.Float32:
		return 32
	}
	return 64
}
