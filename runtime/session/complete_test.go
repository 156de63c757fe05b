package session

import (
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/perfnb/perfnb/runtime/display"
)

func TestComplete(t *testing.T) {
	s, _, _ := newTest(t)
	run(s, 1, "import str \"strings\"\nimport \"bytes\"\ntype Point struct{ X, Y int }\nfunc (p Point) Norm() int { return 0 }\nfunc (p *Point) Scale(k int) {}\nmyValue := 3\nfunc myFunc() {}")
	run(s, 2, "type Named struct {\n\tPoint\n\tName string\n}\nfunc newPoint() *Point { return &Point{} }\nvar origin = Point{}\nvar pp *Point\nnp := newPoint()\nnm := Named{}\nq := new(Point)")
	run(s, 3, "sample := []Point{{1, 2}}\nfirst := sample[0]\nsb := strings.Builder{}\nrd := bytes.NewReader(nil)")
	tests := []struct {
		name  string
		code  string
		cur   int // -1: end of code
		want  []string
		start int // -1: cursor minus the length of the first match's common prefix (checked separately)
	}{
		{"package members", "fmt.Sprin", -1, []string{"Sprint", "Sprintf", "Sprintln"}, 4},
		{"members after a dot", "x := math.Pi", -1, []string{"Pi"}, 10},
		{"package names", "strin", -1, []string{"string", "strings"}, 0},
		{"stored names", "fmt.Println(myV", -1, []string{"myValue"}, 12},
		{"stored funcs and keywords", "my", -1, []string{"myFunc", "myValue"}, 0},
		{"keyword", "x := 1\nfo", -1, []string{"for", "format"}, 7},
		{"predeclared", "appe", -1, []string{"append"}, 0},
		{"magic", "%tim", -1, []string{"%timeit"}, 0},
		{"cell magic", "%%ti", -1, []string{"%%timeit"}, 0},
		{"line magic", "%ls", -1, []string{"%lsmagic"}, 0},
		{"line-only magic is no cell magic", "%%ls", -1, []string{}, 0},
		{"indented magic", "x := 1\n  %t", -1, []string{"%timeit"}, 9},
		{"import path", `import "encoding/js`, -1, []string{"encoding/json"}, 8},
		{"import path in block", "import (\n\t\"fmt\"\n\t\"net/http/htt", -1, []string{"net/http/httptest", "net/http/httptrace", "net/http/httputil"}, 18},
		{"package imported by an earlier cell", "bytes.NewBufferS", -1, []string{"NewBufferString"}, 6},
		{"aliased import", "str.ToUp", -1, []string{"ToUpper", "ToUpperSpecial"}, 4},
		{"alias in the cell", "import ss \"sort\"\nss.Ints", -1, []string{"Ints", "IntsAreSorted"}, 20},
		{"versioned package", "import \"math/rand/v2\"\nrand.IntN", -1, []string{"IntN"}, 27},
		{"methods of a stored type", "Point.N", -1, []string{"Norm"}, 6},
		{"fields and methods of a variable", "origin.", -1, []string{"Norm", "Scale", "X", "Y"}, 7},
		{"of a variable, with a prefix", "origin.S", -1, []string{"Scale"}, 7},
		{"of a pointer variable", "pp.X", -1, []string{"X"}, 3},
		{"of a func's result", "np.N", -1, []string{"Norm"}, 3},
		{"of new(T)", "q.Y", -1, []string{"Y"}, 2},
		{"embedded fields and methods", "nm.", -1, []string{"Name", "Norm", "Point", "Scale", "X", "Y"}, 3},
		{"of a variable of a basic type", "myValue.", -1, []string{}, 8},
		{"of a variable whose type is inferred", "first.", -1, []string{"Norm", "Scale", "X", "Y"}, 6},
		{"of an index expression", "sample[0].S", -1, []string{"Scale"}, 10},
		{"of a call", "fmt.Println(newPoint().N", -1, []string{"Norm"}, 23},
		{"methods of a std type", "sb.WriteS", -1, []string{"WriteString"}, 3},
		{"of a std func's result", "rd.Rea", -1, []string{"Read", "ReadAt", "ReadByte", "ReadRune"}, 3},
		{"cursor in the middle", "fmt.Sprin(x)", 9, []string{"Sprint", "Sprintf", "Sprintln"}, 4},
		{"code points", "é := fmt.Sprin", -1, []string{"Sprint", "Sprintf", "Sprintln"}, 9},
		{"nothing after a space", "x := ", -1, []string{}, 5},
		{"inside a string", `fmt.Println("fmt.Spr`, -1, []string{}, 20},
		{"display package", "display.HT", -1, []string{"HTML"}, 8},
		{"a package the interpreter lacks", "slices.BinarySea", -1, []string{"BinarySearch", "BinarySearchFunc"}, 7},
		{"its generic functions", "maps.Ke", -1, []string{"Keys"}, 5},
		{"a type's constructor and constants", "time.Mon", -1, []string{"Monday", "Month"}, 5},
		{"a function newer than the interpreter", "strings.SplitS", -1, []string{"SplitSeq"}, 8},
		{"unknown package", "nosuch.Fo", -1, []string{}, 7},
		{"unexported members hidden", "fmt.new", -1, []string{}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := tt.cur
			if cur < 0 {
				cur = utf8.RuneCountInString(tt.code)
			}
			c := s.Complete(tt.code, cur)
			if !reflect.DeepEqual(c.Matches, tt.want) {
				t.Errorf("Complete(%q, %d) matches = %q, want %q", tt.code, cur, c.Matches, tt.want)
			}
			if c.CursorStart != tt.start || c.CursorEnd != cur {
				t.Errorf("Complete(%q, %d) cursor = %d..%d, want %d..%d", tt.code, cur, c.CursorStart, c.CursorEnd, tt.start, cur)
			}
		})
	}
}

func TestInspect(t *testing.T) {
	s, _, _ := newTest(t)
	run(s, 4, "// Twice doubles n.\nfunc Twice(n int) int { return 2 * n }\ntotal := Twice(2)")
	run(s, 5, "type P struct{ X int }\n// Get returns X.\nfunc (p P) Get() int { return p.X }\nvar pv = P{}")
	tests := []struct {
		code   string
		cur    int // -1: end
		detail int
		found  bool
		want   []string
	}{
		{"fmt.Println", 5, 0, true, []string{"func Println(a ...any) (n int, err error)", "Println formats using the default formats", "https://pkg.go.dev/fmt#Println"}},
		{"x := strings.NewReader(s)", -1, 0, true, []string{"func NewReader(s string) *Reader"}},
		{"fmt.Println(", -1, 0, true, []string{"func Println("}},
		{"fmt.Println(a, b", -1, 0, true, []string{"func Println("}},
		{"fmt.Println(\n\ta,\n\tb", -1, 0, true, []string{"func Println("}},
		{"strings", 3, 0, true, []string{`package strings // import "strings"`, "Package strings implements simple functions"}},
		{"strings.Builder.WriteString", 20, 0, true, []string{"func (b *Builder) WriteString(s string) (int, error)"}},
		{"time.Nanosecond", -1, 0, true, []string{"Nanosecond"}},
		{"sort.Ints", -1, 1, true, []string{"func Ints(x []int) {", "}"}},
		{"Twice(3)", 2, 0, true, []string{"// Twice doubles n.\nfunc Twice(n int) int { return 2 * n }", "declared in In[4], line 1"}},
		{"total", -1, 0, true, []string{"var total = Twice(2)", "declared in In[4], line 3"}},
		{"len(x)", 1, 0, true, []string{"func len(v Type) int"}},
		{"pv.Get", -1, 0, true, []string{"// Get returns X.\nfunc (p P) Get() int", "declared in In[5], line 2"}},
		{"pv.X", -1, 0, true, []string{"var pv = P{}"}},
		{"for", -1, 0, true, []string{"keyword"}},
		{"%timeit", 3, 0, true, []string{"time a statement"}},
		{"display.HTML", 9, 0, true, []string{"display.HTML: func(string) *display.Handle"}},
		{"slices.Sort", -1, 0, true, []string{"func Sort[S ~[]E, E cmp.Ordered](x S)", "https://pkg.go.dev/slices#Sort"}},
		{"iter", -1, 0, true, []string{`package iter // import "iter"`}},
		{"nosuchname", -1, 0, false, nil},
		{"fmt.NoSuch", -1, 0, false, nil},
		{"   ", 1, 0, false, nil},
	}
	for _, tt := range tests {
		cur := tt.cur
		if cur < 0 {
			cur = utf8.RuneCountInString(tt.code)
		}
		in := s.Inspect(tt.code, cur, tt.detail)
		if in.Found != tt.found {
			t.Errorf("Inspect(%q, %d).Found = %v, want %v (%v)", tt.code, cur, in.Found, tt.found, in.Data)
			continue
		}
		text, _ := in.Data["text/plain"].(string)
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Errorf("Inspect(%q, %d) = %q, want it to contain %q", tt.code, cur, text, w)
			}
		}
	}
}

// TestStdIndexIsGoListStd checks that the packages completion offers are
// those go list std lists (without internal, vendored and command
// packages), and the display package.
func TestStdIndexIsGoListStd(t *testing.T) {
	out, err := exec.Command("go", "list", "std").Output()
	if err != nil {
		t.Skipf("go list std: %v", err)
	}
	want := []string{display.ImportPath}
	for _, p := range strings.Fields(string(out)) {
		if !strings.Contains(p, "internal") && !strings.HasPrefix(p, "vendor/") && !strings.HasPrefix(p, "cmd/") {
			want = append(want, p)
		}
	}
	sort.Strings(want)
	got := newStdIndex(newDocIndex().gorootDir()).paths
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the index lists %d packages, go list std %d:\n%v\nwant\n%v", len(got), len(want), got, want)
	}
}
