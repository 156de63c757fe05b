package native

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/runtime/cell"
)

func bench(setup, body string) Benchmark {
	return Benchmark{
		Name:  "Cell",
		Setup: Snippet{Source: setup, Cell: 7, Line: 1, Col: 10},
		Body:  Snippet{Source: body, Cell: 7, Line: 2},
	}
}

// generateTests are benchmarks of a cell and the strings that the program
// Generate makes of each, with TestGenerate's declarations, must (want) and
// must not (avoid) contain.
var generateTests = []struct {
	name        string
	bench       Benchmark
	want, avoid []string
}{
	{
		name:  "auto import and declared variable used",
		bench: bench("", `s := strings.Repeat("a", 3)`),
		want:  []string{"\t\"strings\"\n", "_ = s\n", "//line In[7]:2:1\ns := strings.Repeat", "func BenchmarkCell(b *testing.B) {\n\tb.Cleanup(harness.RedirectStdout())\n", "for b.Loop() {"},
		// No defer in the benchmark function: it changes the loop's
		// code and cost (see emit).
		avoid: []string{"\"os\"", "func fib", "func unused", "\"fmt\"", "defer"},
	},
	{
		name:  "stored import under its alias, used declaration and its dependencies",
		bench: bench("", `n := len(words) + fib(10) + point{1, 2}.norm()`),
		want:  []string{"str \"strings\"", "//line In[3]:4:1\nvar words", "//line In[2]:1:1\nfunc fib", "func (p point) norm()", "func abs(", "type point"},
		avoid: []string{"\"os\"", "func unused", "func show"},
	},
	{
		name:  "expression statements kept",
		bench: bench("x, y := 3, 7", "x*y\nlen(words)\nfib(3)\nint(x)\n<-make(chan int, 1)"),
		want:  []string{"_ = /*line In[7]:2:1*/x*y\n", "_ = /*line In[7]:3:1*/len(words)\n", "\nfib(3)\n", "_ = /*line In[7]:5:1*/int(x)\n", "\n<-make(chan int, 1)", "\"perfnbcell/harness\"", "//line In[7]:1:10\nx, y := 3, 7", "_ = x\n", "_ = y\n"},
	},
	{
		name:  "display calls build against the stub",
		bench: bench("", "show()"),
		want:  []string{"\"perfnbcell/display\"", "func show()"},
	},
	{
		name:  "an explicit import of perfnb/display uses the stub",
		bench: Benchmark{Name: "Cell", Body: Snippet{Source: `h := disp.HTML("x")`, Cell: 9, Line: 1}},
		want:  []string{"disp \"perfnbcell/display\""},
		avoid: []string{"\"perfnb/display\""},
	},
	{
		name:  "a cell variable named b renames the benchmark's parameter",
		bench: bench("", "x := b * 2"),
		want:  []string{"func BenchmarkCell(perfnbB *testing.B)", "for perfnbB.Loop()", "var b = 2"},
	},
	{
		name: "code around the loop follows the renamed parameter",
		bench: Benchmark{Name: "Cell", Body: Snippet{Source: "b++", Cell: 9, Line: 2},
			BeforeLoop: "b.ReportAllocs()\nruntime.GC()", AfterLoop: "b.ReportMetric(1, \"x/op\")"},
		want: []string{"perfnbB.ReportAllocs()", "perfnbB.ReportMetric(1, \"x/op\")", "\"runtime\""},
	},
}

func TestGenerate(t *testing.T) {
	decls := []cell.Decl{
		{Kind: cell.ImportDecl, Name: "os", Source: `import "os"`, Cell: 1, Line: 1},
		{Kind: cell.ImportDecl, Name: "strings", Source: `import str "strings"`, Cell: 1, Line: 2},
		{Kind: cell.FuncDecl, Name: "fib", Source: "func fib(n int) int {\n\tif n < 2 {\n\t\treturn n\n\t}\n\treturn fib(n-1) + fib(n-2)\n}", Cell: 2, Line: 1},
		{Kind: cell.VarDecl, Name: "words", Source: `var words = str.Fields("a b c")`, Cell: 3, Line: 4},
		{Kind: cell.TypeDecl, Name: "point", Source: `type point struct{ x, y int }`, Cell: 3, Line: 1},
		{Kind: cell.MethodDecl, Name: "point.norm", Source: `func (p point) norm() int { return abs(p.x) + abs(p.y) }`, Cell: 3, Line: 2},
		{Kind: cell.FuncDecl, Name: "abs", Source: `func abs(x int) int { return max(x, -x) }`, Cell: 3, Line: 3},
		{Kind: cell.FuncDecl, Name: "show", Source: `func show() { display.HTML("<b>hi</b>") }`, Cell: 4, Line: 1},
		{Kind: cell.VarDecl, Name: "b", Source: `var b = 2`, Cell: 4, Line: 2},
		{Kind: cell.ImportDecl, Name: "perfnb/display", Source: `import disp "perfnb/display"`, Cell: 4, Line: 3},
		{Kind: cell.FuncDecl, Name: "unused", Source: `func unused() { fmt.Println(os.Args) }`, Cell: 5, Line: 1},
	}
	for _, tt := range generateTests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := generate(Program{Decls: decls, Benchmarks: []Benchmark{tt.bench}})
			if err != nil {
				t.Fatal(err)
			}
			s := string(src)
			if _, err := parser.ParseFile(token.NewFileSet(), GeneratedFile, src, 0); err != nil {
				t.Fatalf("generated source does not parse: %v\n%s", err, s)
			}
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("generated source lacks %q:\n%s", w, s)
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(s, a) {
					t.Errorf("generated source has %q:\n%s", a, s)
				}
			}
		})
	}
}

// TestGenerateLineMapping checks that positions in the generated file map
// back to the cell, for cell code, and to the generated file elsewhere.
func TestGenerateLineMapping(t *testing.T) {
	src, err := generate(Program{
		Decls:      []cell.Decl{{Kind: cell.FuncDecl, Name: "f", Source: "func f() int {\n\treturn 1\n}", Cell: 2, Line: 3}},
		Benchmarks: []Benchmark{{Name: "Cell", Setup: Snippet{Source: "a := f()", Cell: 4, Line: 1, Col: 9}, Body: Snippet{Source: "a*2\nc := a", Cell: 4, Line: 2}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, GeneratedFile, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"f": "In[2]:3:6",
		"a": "In[4]:1:9",
		"c": "In[4]:3:1",
	}
	found := map[string]string{}
	all := map[string]bool{}
	inspectIdents(f, func(name string, pos token.Pos) {
		if _, ok := found[name]; !ok {
			found[name] = fset.Position(pos).String()
		}
		all[name+"@"+fset.Position(pos).String()] = true
	})
	for name, pos := range want {
		if found[name] != pos {
			t.Errorf("%s is at %s, want %s\n%s", name, found[name], pos, src)
		}
	}
	// The expression assigned to _ stays at its cell column.
	if !all["a@In[4]:2:1"] {
		t.Errorf("the expression a*2 is not at In[4]:2:1\n%s", src)
	}
	// The benchmark's own code is in the generated file.
	if got := found["Loop"]; !strings.HasPrefix(got, GeneratedFile+":") {
		t.Errorf("b.Loop is at %s, want in %s", got, GeneratedFile)
	}
}

func TestGenerateSyntaxError(t *testing.T) {
	_, err := generate(Program{Benchmarks: []Benchmark{{Name: "Cell", Body: Snippet{Source: "x := \ny := 2)", Cell: 5, Line: 3}}}})
	var e *Error
	if !errors.As(err, &e) || e.Kind != CompileFailed {
		t.Fatalf("got %v, want a compile error", err)
	}
	if !strings.Contains(e.Error(), "In[5]:4:") {
		t.Errorf("error %q does not name line In[5]:4", e.Error())
	}
}

// inspectIdents calls fn for every identifier of f, in source order.
func inspectIdents(f *ast.File, fn func(name string, pos token.Pos)) {
	ast.Inspect(f, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			fn(id.Name, id.Pos())
		}
		return true
	})
}

// TestSnippetEndsEarly checks that a statement that ends early is
// reported where it ends, not on a line of the code generated around it.
func TestSnippetEndsEarly(t *testing.T) {
	for _, tt := range []struct {
		src  string
		line int
		col  int
		want string
	}{
		{"Sum(", 1, 9, "In[3]:1:13: expected operand, found the end of the code"},
		{"x := []int{1,\n", 2, 1, "In[3]:3:1: expected '}', found the end of the code"},
		{"x := 1 +", 1, 1, "In[3]:1:9: expected operand, found the end of the code"},
		{"x := )", 1, 1, "In[3]:1:6: expected operand, found ')'"},
	} {
		_, err := generate(Program{Benchmarks: []Benchmark{{Name: "Cell", Body: Snippet{Source: tt.src, Cell: 3, Line: tt.line, Col: tt.col}}}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.src, err, tt.want)
		}
	}
}
