package cell

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var kindNames = map[Kind]string{
	Import: "import", Declaration: "decl", Statement: "stmt", Expression: "expr",
	LineMagic: "line", CellMagic: "cell", Help: "help",
}

var declKindNames = map[DeclKind]string{
	ImportDecl: "import", TypeDecl: "type", FuncDecl: "func", MethodDecl: "method",
	ConstDecl: "const", VarDecl: "var",
}

// describe renders items compactly: one line per item, "kind@line: source",
// followed by "  declkind name@line: source" lines.
func describe(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "%s@%d: %s\n", kindNames[it.Kind], it.Line, it.Source)
		if it.Magic != nil {
			m := it.Magic
			fmt.Fprintf(&b, "  magic %s cell=%v args=%q@%d body=%q bodyline=%d\n", m.Name, m.Cell, m.Args, m.ArgsCol, m.Body, m.BodyLine)
		}
		if it.Kind == Help {
			fmt.Fprintf(&b, "  detail %d\n", it.Detail)
		}
		for _, d := range it.Decls {
			fmt.Fprintf(&b, "  %s %s@%d: %s\n", declKindNames[d.Kind], d.Name, d.Line, d.Source)
		}
	}
	return b.String()
}

// parseTests are cells and describe's rendering of what Parse makes of them.
var parseTests = []struct {
	name string
	src  string
	want string
}{
	{"empty", "", ""},
	{"magic arguments after a tab and spaces", "  %timeit\t  f(x) ",
		"line@1: %timeit\t  f(x)\n  magic timeit cell=false args=\"f(x)\"@13 body=\"\" bodyline=0\n"},
	{"blank and comments", "\n// just a comment\n\n", ""},
	{"expression", "1 + 2 + 3", "expr@1: 1 + 2 + 3\n"},
	{"composite literal", "[]int{1, 4, 9}\n", "expr@1: []int{1, 4, 9}\n"},
	{
		"mixed cell",
		`import "fmt"

type T struct{ A int }

func (t *T) Double() int { return 2 * t.A }

x := T{A: 21}
fmt.Println(x.Double())
x.Double()`,
		`import@1: import "fmt"
  import fmt@1: import "fmt"
decl@3: type T struct{ A int }

func (t *T) Double() int { return 2 * t.A }
  type T@3: type T struct{ A int }
  method T.Double@5: func (t *T) Double() int { return 2 * t.A }
stmt@7: x := T{A: 21}
  var x@7: var x = T{A: 21}
stmt@8: fmt.Println(x.Double())
expr@9: x.Double()
`,
	},
	{
		"statements then a declaration then statements",
		"a := 1\nb := a + 1\nfunc f() int { return 3 }\nc, d := f(), 4\nprintln(a, b, c, d)",
		`stmt@1: a := 1
  var a@1: var a = 1
stmt@2: b := a + 1
  var b@2: var b = a + 1
decl@3: func f() int { return 3 }
  func f@3: func f() int { return 3 }
stmt@4: c, d := f(), 4
  var c@4: var c, d = f(), 4
  var d@4: var c, d = f(), 4
expr@5: println(a, b, c, d)
`,
	},
	{
		"grouped imports and a doc comment",
		"import (\n\t\"fmt\"\n\tstr \"strings\"\n)\n\n// Greet says hello.\n// Twice.\nfunc Greet() string { return str.Repeat(fmt.Sprint(\"hi\"), 2) }\n",
		`import@1: import (
	"fmt"
	str "strings"
)
  import fmt@2: import "fmt"
  import strings@3: import str "strings"
decl@6: // Greet says hello.
// Twice.
func Greet() string { return str.Repeat(fmt.Sprint("hi"), 2) }
  func Greet@6: // Greet says hello.
// Twice.
func Greet() string { return str.Repeat(fmt.Sprint("hi"), 2) }
`,
	},
	{
		"var, const and type groups",
		"var (\n\t// N counts.\n\tN = 3\n\tp, q = 1, 2\n)\nconst (\n\tA = iota\n\tB\n)\ntype (\n\tS []int\n\tM map[string]S\n)",
		`decl@1: var (
	// N counts.
	N = 3
	p, q = 1, 2
)
const (
	A = iota
	B
)
type (
	S []int
	M map[string]S
)
  var N@2: // N counts.
var N = 3
  var p@4: var p, q = 1, 2
  var q@4: var p, q = 1, 2
  const A@6: const (
	A = iota
	B
)
  const B@6: const (
	A = iota
	B
)
  type S@11: type S []int
  type M@12: type M map[string]S
`,
	},
	{
		"generic receiver",
		"type Stack[T any] []T\nfunc (s *Stack[T]) Push(v T) { *s = append(*s, v) }\nfunc (Stack[T]) Len() int { return 0 }",
		`decl@1: type Stack[T any] []T
func (s *Stack[T]) Push(v T) { *s = append(*s, v) }
func (Stack[T]) Len() int { return 0 }
  type Stack@1: type Stack[T any] []T
  method Stack.Push@2: func (s *Stack[T]) Push(v T) { *s = append(*s, v) }
  method Stack.Len@3: func (Stack[T]) Len() int { return 0 }
`,
	},
	{
		"multi-line raw string and literal",
		"s := `line one\n%notamagic\n}`\nm := map[string]int{\n\t\"a\": 1,\n\n\t\"b\": 2,\n}\nlen(s) + len(m)",
		"stmt@1: s := `line one\n%notamagic\n}`\n" +
			"  var s@1: var s = `line one\n%notamagic\n}`\n" +
			"stmt@4: m := map[string]int{\n\t\"a\": 1,\n\n\t\"b\": 2,\n}\n" +
			"  var m@4: var m = map[string]int{\n\t\"a\": 1,\n\n\t\"b\": 2,\n}\n" +
			"expr@9: len(s) + len(m)\n",
	},
	{
		"line magics in the middle",
		"x := 10\n%timeit -n10 f(x)\n  %memit   g()  \ny := 2\ny",
		`stmt@1: x := 10
  var x@1: var x = 10
line@2: %timeit -n10 f(x)
  magic timeit cell=false args="-n10 f(x)"@9 body="" bodyline=0
line@3: %memit   g()
  magic memit cell=false args="g()"@12 body="" bodyline=0
stmt@4: y := 2
  var y@4: var y = 2
expr@5: y
`,
	},
	{
		"magic last means no trailing expression",
		"x\n%timeit x",
		"stmt@1: x\nline@2: %timeit x\n  magic timeit cell=false args=\"x\"@9 body=\"\" bodyline=0\n",
	},
	{
		"percent inside a comment is Go",
		"/*\n%notmagic\n*/\nx",
		"expr@4: x\n",
	},
	{
		"cell magic",
		"%%timeit -r3 s := make([]int, 100)\nsort.Ints(s)\n\nx := 1",
		`cell@1: %%timeit -r3 s := make([]int, 100)
  magic timeit cell=true args="-r3 s := make([]int, 100)"@10 body="sort.Ints(s)\n\nx := 1" bodyline=2
`,
	},
	{
		"cell magic after blank line, empty body",
		"\n%%scalene",
		"cell@2: %%scalene\n  magic scalene cell=true args=\"\"@10 body=\"\" bodyline=3\n",
	},
	{
		"help",
		"fmt.Println?\nx??\n?strings\n%timeit?",
		"help@1: fmt.Println\n  detail 0\nhelp@2: x\n  detail 1\nhelp@3: strings\n  detail 0\nhelp@4: %timeit\n  detail 0\n",
	},
	{
		"func literal statement",
		"func() { println(1) }()\ngo func(n int) {\n}(3)",
		"stmt@1: func() { println(1) }()\ngo func(n int) {\n}(3)\n",
	},
	{
		"func literal call as trailing expression",
		"func (x int) int { return x }(3)",
		"expr@1: func (x int) int { return x }(3)\n",
	},
	{
		"semicolons on one line",
		"a := 1; func f() {}; a",
		`stmt@1: a := 1
  var a@1: var a = 1
decl@1:         func f() {}
  func f@1: func f() {}
expr@1:                      a
`,
	},
	{
		"trailing comment kept with statement",
		"x := 1 // one\n// Doc of f.\nfunc f() {}",
		"stmt@1: x := 1 // one\n  var x@1: var x = 1\ndecl@2: // Doc of f.\nfunc f() {}\n  func f@2: // Doc of f.\nfunc f() {}\n",
	},
	{
		"blank identifiers are not stored",
		"_, err := f()\nvar _ = g()",
		"stmt@1: _, err := f()\n  var err@1: var _, err = f()\ndecl@2: var _ = g()\n",
	},
	{
		"statements in blocks are not stored",
		"for i := 0; i < 3; i++ {\n\tj := i\n\t_ = j\n}\nif v := 1; v > 0 {\n}",
		"stmt@1: for i := 0; i < 3; i++ {\n\tj := i\n\t_ = j\n}\nif v := 1; v > 0 {\n}\n",
	},
	{
		"labelled loop",
		"outer:\nfor {\n\tbreak outer\n}",
		"stmt@1: outer:\nfor {\n\tbreak outer\n}\n",
	},
	{
		"pasted file",
		"package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(1)\n}\n",
		"import@3: import \"fmt\"\n  import fmt@3: import \"fmt\"\ndecl@5: func main() {\n\tfmt.Println(1)\n}\n  func main@5: func main() {\n\tfmt.Println(1)\n}\n",
	},
	{
		"CRLF line ends",
		"x := 1\r\nx\r\n",
		"stmt@1: x := 1\n  var x@1: var x = 1\nexpr@2: x\n",
	},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := describe(items); got != tt.want {
				t.Errorf("Parse(%q):\n%s\nwant:\n%s", tt.src, got, tt.want)
			}
		})
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
		msg       string // a part of the message
	}{
		{"bad statement", "x := 1\ny := (2 +\n", 2, 10, "expected"},
		{"bad declaration on line 3", "a := 1\n\nfunc f( {\n}\n", 3, 9, "expected"},
		{"bad type", "type T struct {\n\tA int\n\tB\n\tC int int\n}", 4, 8, "expected"},
		{"stray brace", "x := 1\n}\n", 2, 1, "unexpected }"},
		{"unterminated string", "a := 1\nb := \"abc\n", 2, 6, "not terminated"},
		{"illegal character", "x := 1\ny := 2 # 3", 2, 8, "illegal character"},
		{"cell magic not first", "x := 1\n%%timeit\nf()", 2, 1, "first line"},
		{"bad type in the middle", "x := 1\n%timeit x\nvar y int int", 3, 11, "expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := Parse(tt.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, %v; want a *SyntaxError", tt.src, describe(items), err)
			}
			if se.Line != tt.line || se.Col != tt.col || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("Parse(%q) error = %v; want %d:%d: ...%s...", tt.src, se, tt.line, tt.col, tt.msg)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	cells := map[string]string{
		"tiny": "_ = 1",
		"mixed": "import \"strings\"\n\n// T is a thing.\ntype T struct{ S string }\n\nfunc (t T) Up() string { return strings.ToUpper(t.S) }\n\n" +
			"t := T{\"go\"}\nfor i := 0; i < 3; i++ {\n\tfmt.Println(t.Up(), i)\n}\n%timeit t.Up()\nt.Up()",
	}
	for name, src := range cells {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse(src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
