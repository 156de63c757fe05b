// Package cell splits a notebook cell into ordered items (imports,
// declarations, statements, a trailing expression, magics, help requests)
// and keeps the declaration store: every declaration of the successful
// cells so far, keyed by name, a later definition replacing an earlier one.
package cell

// Kind is the kind of an Item.
type Kind int

// The kinds of item a cell holds.
const (
	Import      Kind = iota // an import declaration
	Declaration             // a type, func, method, const or var declaration
	Statement               // one or more statements, including x := f()
	Expression              // the trailing expression, whose value is shown
	LineMagic               // %name args
	CellMagic               // %%name args, followed by the rest of the cell
	Help                    // name? or name??
)

// Item is one piece of a cell, in the order it appears.
type Item struct {
	Kind Kind
	// Source is the Go source of the item, as in the cell (padded with
	// spaces when it starts mid-line, so that columns match); for magics
	// the magic line; for Help the name asked about (fmt.Println, x or
	// %timeit).
	Source string
	Line   int    // 1-based line of the cell where the item starts
	Magic  *Magic // for LineMagic and CellMagic
	// Decls lists what an Import, Declaration or top-level := Stmt declares, as
	// the store will keep it: one Decl per name, the names of one
	// declaration (var a, b = f(), a := f(), a const group) sharing Kind,
	// Line and Source. Parse leaves Cell 0; the session sets it.
	Decls []Decl
	// Detail is, for Help items, 0 for name? and 1 for name??.
	Detail int
	// Syntax is the parsed Go of an Import, Declaration, Statement or
	// Expression item; nil for the others.
	Syntax *Syntax
}

// Magic is a %line or %%cell magic.
type Magic struct {
	Name     string // without the % signs
	Cell     bool   // %%name
	Args     string // the rest of the magic line, without surrounding spaces
	Body     string // the cell body after the magic line (cell magics)
	Line     int    // line of the magic line in the cell
	BodyLine int    // line of the first body line in the cell
	// ArgsCol is the 1-based column (in bytes) of the magic line where
	// Args starts, leading spaces of the line included, so that errors in
	// a statement given as arguments point at it.
	ArgsCol int
}

// DeclKind says what a Decl declares.
type DeclKind int

// The kinds of declaration the store keeps.
const (
	ImportDecl DeclKind = iota
	TypeDecl
	FuncDecl
	MethodDecl
	ConstDecl
	VarDecl
)

// Decl is one stored declaration.
type Decl struct {
	Kind DeclKind
	// Name is the key that a later definition replaces: the import path
	// for imports, "T" for types, "f" for funcs, "T.M" for methods, the
	// name for consts and vars.
	Name string
	// Source is complete Go source for the declaration at package level,
	// for example `import "fmt"`, `func f() {}` or `var x = f()` (a
	// top-level x := f() is stored as var x = f()).
	Source string
	Cell   int // execution count of the cell that declared it
	Line   int // line in that cell where Source starts
	// Native, when not empty, says why only the compiler holds the
	// declaration (the interpreter cannot run it): cells that use it run
	// compiled, and a fresh interpreter does not replay it.
	Native string `json:",omitempty"`
}
