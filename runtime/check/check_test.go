package check

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/perfnb/perfnb/runtime/cell"
)

// shared is one importer for the package's tests, so that export data is
// found once.
var shared = sync.OnceValues(func() (*token.FileSet, *Importer) {
	fset := token.NewFileSet()
	return fset, newImporter(fset, "", nil, nil)
})

var std = map[string]string{"fmt": "fmt", "os": "os", "strconv": "strconv", "strings": "strings", "math": "math", "sort": "sort", "rand": "math/rand", "bytes": "bytes", "bufio": "bufio", "time": "time"}

func newChecker() *Checker {
	fset, im := shared()
	return New(Options{Fset: fset, Importer: im, AutoImport: func(n string) (string, bool) { p, ok := std[n]; return p, ok }})
}

// notebook checks cells in order, storing the declarations of those that
// check and committing them as the session does, and returns the error
// of each cell ("" when it checked).
func notebook(t *testing.T, c *Checker, cells ...string) []string {
	t.Helper()
	return run(t, c, true, cells...)
}

// run is notebook; without commit, the store changes behind the
// checker's back, so that every cell gets a full check.
func run(t *testing.T, c *Checker, commit bool, cells ...string) []string {
	t.Helper()
	store := cell.NewStore()
	var out []string
	for k, src := range cells {
		count := k + 1
		items, err := cell.ParseIn(c.Fset(), src)
		if err != nil {
			t.Fatalf("cell %d: %v", count, err)
		}
		_, err = c.Check(context.Background(), store, items, count)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("cell %d: not a *check.Error: %v", count, err)
			}
			out = append(out, err.Error())
			continue
		}
		out = append(out, "")
		added := declsOf(items, count)
		store.Add(added...)
		if commit {
			c.Commit(store, added)
		}
	}
	return out
}

// declsOf returns the declarations of a cell's items as the session
// stores them.
func declsOf(items []cell.Item, count int) []cell.Decl {
	var out []cell.Decl
	for _, it := range items {
		for _, d := range it.Decls {
			d.Cell = count
			out = append(out, d)
		}
	}
	return out
}

// modes runs f for a checker that checks cells incrementally and for one
// that checks every cell in full.
func modes(t *testing.T, f func(t *testing.T, commit bool)) {
	for _, commit := range []bool{true, false} {
		name := "incremental"
		if !commit {
			name = "full"
		}
		t.Run(name, func(t *testing.T) { f(t, commit) })
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name  string
		cells []string
		want  string // the last cell's error
	}{
		{"two results to one", []string{`f := os.Open("/nonexistent")`}, `In[1]:1:6: assignment mismatch: 1 variable but os.Open returns 2 values`},
		{"atoi", []string{`n := strconv.Atoi("12")`}, `In[1]:1:6: assignment mismatch: 1 variable but strconv.Atoi returns 2 values`},
		{"return type", []string{`func f(n int) int64 { return n }`}, `In[1]:1:30: cannot use n (variable of type int) as int64 value in return statement`},
		{"undefined", []string{`x := 1`, `y := x + z`}, `In[2]:1:10: undefined: z`},
		{"type mismatch across cells", []string{`s := "a"`, `n := 1`, `fmt.Println(s + n)`}, `In[3]:1:13: invalid operation: s + n (mismatched types string and int)`},
		{"unused local", []string{"for i := 0; i < 3; i++ {\n\ty := i\n}"}, `In[1]:2:2: declared and not used: y`},
		{"no new variables", []string{"a := 1\na := 2"}, `In[1]:2:1: no new variables on left side of :=`},
		{"method on missing field", []string{`type T struct{ A int }`, `var t T`, `t.B = 1`}, `In[3]:1:3: t.B undefined (type T has no field or method B)`},
		{"wrong argument", []string{`func sq(x float64) float64 { return x * x }`, `sq("a")`}, `In[2]:1:4: cannot use "a" (untyped string constant) as float64 value in argument to sq`},
		{"position on later line", []string{"x := 1\n\n  y := x.Foo"}, `In[1]:3:10: x.Foo undefined (type int has no field or method Foo)`},
		{"redefined type breaks use", []string{`type P struct{ X int }`, `type P struct{ Y int }`, `p := P{X: 1}`}, `In[3]:1:8: unknown field X in struct literal of type P`},
		{"bad import", []string{`import "no/such/pkg"`}, `In[1]:1:8: could not import no/such/pkg`},
		// What a redefinition breaks is found, in whichever cell it is.
		{"redefined func breaks a caller", []string{`func f() int { return 1 }`, `func g() int { return f() }`, `func f() string { return "" }`, `g()`},
			`In[4]:1:1: g no longer compiles: In[2]:1:23: cannot use f() (value of type string) as int value in return statement`},
		{"import renamed, the old name gone", []string{`import str "strings"`, `import s "strings"`, `str.ToUpper("a")`}, `In[3]:1:1: undefined: str`},
		{"import renamed breaks a user", []string{`import "math/rand"`, `func r() int { return rand.Intn(3) }`, `import "crypto/rand"`, `r()`},
			`In[4]:1:1: r no longer compiles: In[2]:1:28: undefined: rand.Intn`},
		{"var of another type breaks a user", []string{`n := 1`, `func half() int { return n / 2 }`, `n := "s"`, `half()`},
			`In[4]:1:1: half no longer compiles: In[2]:1:26: invalid operation: n / 2 (mismatched types string and untyped int)`},
		{"var declared again depends on itself", []string{`x := 1`, `x := x + 1`}, `In[2]:1:1: initialization cycle: x refers to itself`},
		{"through a func", []string{`c := 0`, `func inc() int { c++; return c }`, `c := inc()`}, `In[3]:1:1: initialization cycle for c`},
		{"field and method", []string{`type T struct{ M int }`, `func (t T) M() {}`}, `In[2]:1:12: field and method with the same name M`},
		{"method hides a promoted one", []string{`type E struct{}`, `func (E) M() int { return 1 }`, `type S struct{ E }`, `func use(s S) int { return s.M() }`, `func (S) M() string { return "" }`, `use(S{})`},
			`In[6]:1:1: use no longer compiles: In[4]:1:28: cannot use s.M() (value of type string) as int value in return statement`},
		{"func declared again with an error", []string{`func f(n int) int { return n }`, `func f(n int) int { return n + "" }`}, `In[2]:1:28: invalid operation: n + "" (mismatched types int and untyped string)`},
		{"method added then misused", []string{`type T struct{}`, `var t T`, `func (T) Name() string { return "t" }`, `t.Name() + 1`}, `In[4]:1:1: invalid operation: t.Name() + 1 (mismatched types string and untyped int)`},
	}
	for _, tt := range tests {
		modes(t, func(t *testing.T, commit bool) {
			t.Run(tt.name, func(t *testing.T) { testInvalid(t, commit, tt.cells, tt.want) })
		})
	}
}

func testInvalid(t *testing.T, commit bool, cells []string, want string) {
	got := run(t, newChecker(), commit, cells...)
	for k, e := range got[:len(got)-1] {
		if e != "" {
			t.Fatalf("cell %d: unexpected error %s", k+1, e)
		}
	}
	if last := got[len(got)-1]; !strings.HasPrefix(last, want) {
		t.Errorf("got  %q\nwant %q", last, want)
	}
}

// TestFailedCellDefinesNothing: a cell that does not compile defines
// nothing, though its check put its names in the notebook's package.
func TestFailedCellDefinesNothing(t *testing.T) {
	modes(t, func(t *testing.T, commit bool) {
		got := run(t, newChecker(), commit, "y := 1\nfunc g() {}\nundefinedThing()", "x := 2", "y", "g()", "y := \"s\"\nfunc g() int { return 1 }", "y + \"t\"", "g() + 1")
		want := []string{"In[1]:3:1: undefined: undefinedThing", "", "In[3]:1:1: undefined: y", "In[4]:1:1: undefined: g", "", "", ""}
		if !slices.Equal(got, want) {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	})
}

func TestValid(t *testing.T) {
	tests := []struct {
		name  string
		cells []string
	}{
		{"var from earlier var", []string{`a := 5`, `var b = a`, `b`}},
		{"bitset", []string{`type bitset []uint64; func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }`}},
		{"mutual recursion in one cell", []string{"func isEven(n int) bool { if n == 0 { return true }; return isOdd(n - 1) }\nfunc isOdd(n int) bool { if n == 0 { return false }; return isEven(n - 1) }\nisEven(10)"}},
		{"redefinition replaces", []string{`x := 1`, `x := "s"`, `x + "t"`}},
		{"func redefined with another signature", []string{`func f() int { return 1 }`, `func f(s string) string { return s }`, `f("a")`}},
		{"auto import", []string{`strings.ToUpper("a")`, `func up(s string) string { return strings.ToUpper(s) }`, `up("b")`}},
		{"unused import", []string{`import "sort"`, `x := 1`}},
		{"import then use", []string{`import "math/rand"`, `rand.Intn(3)`}},
		{"err reused", []string{"f, err := os.Open(\"/etc/hostname\")\nb, err := fmt.Println(f)\n_ = b"}},
		{"expression value", []string{`x := 3`, `x`, `x * 2`, `fmt.Sprint(x)`}},
		{"statements", []string{"total := 0\nfor i := range 10 {\n\ttotal += i\n}\nif total > 3 {\n\tfmt.Println(total)\n}"}},
		{"type restored", []string{`type O struct{ A int }`, `func appendOrders(o []O) []O { return append(o, O{}) }`, `type O struct{ A, B int }`, `type O struct{ A int }`, `appendOrders(nil)`}},
		{"partly redefined", []string{`a, b := 1, 2`, `a := "x"`, `b + 1`, `a + "y"`}},
		{"first of slice", []string{`type S struct{ N int }`, `sample := []S{{1}}`, `first := sample[0]`, `first.N`}},
		{"generic", []string{`func Map[T, U any](xs []T, f func(T) U) []U { var out []U; for _, x := range xs { out = append(out, f(x)) }; return out }`, `Map([]int{1}, func(i int) string { return fmt.Sprint(i) })`}},
		{"defer and go", []string{"defer fmt.Println(1)\ngo func() {}()"}},
		{"pasted package clause", []string{"package main\nfunc main() { fmt.Println(1) }", "main()"}},
		// What an incremental check takes without a full one, and what
		// needs one.
		{"method on an earlier type, used at once", []string{`type T struct{ A int }`, `var t T`, "func (t *T) Inc() { t.A++ }\nt.Inc()", `t.Inc()`}},
		{"method declared again", []string{`type T struct{ A int }`, `func (t T) Get() int { return t.A }`, `func (t T) Get() int { return t.A + 1 }`, `T{}.Get()`}},
		{"method with another receiver kind", []string{`type T struct{ A int }`, `func (t T) Get() int { return t.A }`, `func (t *T) Get() int { return t.A }`, `(&T{}).Get()`}},
		{"type of an earlier type", []string{`type T struct{ A int }`, `type U T`, `type V = T`, `U{A: 1}.A + V{A: 2}.A`}},
		{"same type again", []string{`type T struct{ A int }`, `func (t T) Get() int { return t.A }`, `type T struct{ A int }`, `T{1}.Get()`}},
		{"const again, then changed", []string{`const c = 1`, `const c = 1`, `const c = "s"`, `c + "t"`}},
		{"var again with its type", []string{`xs := []int{1}`, `func first() int { return xs[0] }`, `xs := []int{2, 3}`, `first() + len(xs)`}},
		{"generic func again", []string{`func Map[T, U any](xs []T, f func(T) U) []U { var out []U; for _, x := range xs { out = append(out, f(x)) }; return out }`,
			`func Map[T, U any](xs []T, f func(T) U) []U { out := make([]U, 0, len(xs)); for _, x := range xs { out = append(out, f(x)) }; return out }`,
			`Map([]int{1}, func(i int) string { return fmt.Sprint(i) })`}},
		{"func shadows a builtin", []string{`xs := []int{1}`, `func n() int { return len(xs) }`, `func len(s []int) int { return 0 }`, `n() + len(xs)`}},
		{"import again", []string{`import "strings"`, `import "strings"`, `strings.ToUpper("a")`}},
		{"import renamed", []string{`import str "strings"`, `import s "strings"`, `s.ToUpper("a")`}},
	}
	modes(t, func(t *testing.T, commit bool) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for k, e := range run(t, newChecker(), commit, tt.cells...) {
					if e != "" {
						t.Errorf("cell %d (%q): %s", k+1, tt.cells[k], e)
					}
				}
			})
		}
	})
}

func TestTypeOf(t *testing.T) {
	c := newChecker()
	notebook(t, c, `type inner struct{ deep bool }`, `type S struct{ N int; inner }`, `func (S) M() {}`, `func (*S) P() {}`,
		`sample := []S{{N: 1}}`, `first := sample[0]`, `sb := strings.Builder{}`)
	for expr, want := range map[string]string{"first": "main.S", "sample": "[]main.S", "&sb": "*strings.Builder", "strings.NewReader": "func(s string) *strings.Reader",
		// Standard packages no cell imported, as a cell may use them.
		"time.Now()": "time.Time", "bytes.NewBuffer(nil).Len()": "int", "first.N + len(os.Args)": "int"} {
		typ, _, err := c.Last().TypeOf(expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		if typ.String() != want {
			t.Errorf("%s: got %s, want %s", expr, typ, want)
		}
	}
	for expr, want := range map[string]string{
		"first":                 "[N deep inner] [M P]",
		"sample[0]":             "[N deep inner] [M P]",
		"S":                     "[] [M]",
		"sb":                    "[] [Cap Grow Len Reset String Write WriteByte WriteRune WriteString]",
		"bufio.NewScanner(nil)": "[] [Buffer Bytes Err Scan Split Text]",
	} {
		f, m, err := c.Last().Members(expr)
		if got := fmt.Sprint(f, " ", m); err != nil || got != want {
			t.Errorf("Members(%s) = %s, %v; want %s", expr, got, err, want)
		}
	}
}

// BenchmarkCheckCell measures the per-cell cost of checking a cell, as
// the session does (Check, then Commit), in notebooks of 0, 100 and 1,000
// earlier declarations, half funcs and half variables (export data
// already read): a trivial cell (`_ = 1`, what scripts/bench-kernel
// sends), and one that declares a variable (again and again, a
// redefinition after the first). Both must cost what the cell holds, not
// what the notebook holds.
func BenchmarkCheckCell(b *testing.B) {
	for _, decls := range []int{0, 100, 1000} {
		c := newChecker()
		store := cell.NewStore()
		count := 0
		check := func(b *testing.B, src string) {
			count++
			items, err := cell.ParseIn(c.Fset(), src)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Check(context.Background(), store, items, count); err != nil {
				b.Fatal(err)
			}
			added := declsOf(items, count)
			store.Add(added...)
			c.Commit(store, added)
		}
		for k := range decls / 2 {
			check(b, fmt.Sprintf("func f%d(n int) int { return n * %d }", k, k))
			check(b, fmt.Sprintf("v%d := fmt.Sprint(%d)", k, k))
		}
		for _, src := range []string{"_ = 1", "x := 1 + 2"} {
			b.Run(fmt.Sprintf("decls=%d/%s", decls, src), func(b *testing.B) {
				b.ReportAllocs()
				start := cpuTime()
				defer func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }()
				for k := 0; k < b.N; k++ {
					check(b, src)
				}
			})
		}
	}
}

// cpuTime is the process's user and system time, in nanoseconds: on a
// loaded machine it tells the check's own cost where wall time cannot.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// result stands for a value a magic gives the interpreter (%timeit -v r).
type result struct {
	Loops   int
	Timings []float64
}

func (r *result) Best() float64 { return 0 }

func TestSetVar(t *testing.T) {
	c := newChecker()
	if err := c.SetVar("tres", reflect.TypeOf(&result{})); err != nil {
		t.Fatal(err)
	}
	got := notebook(t, c, `tres.Loops + len(tres.Timings)`, `tres.Best() * 2`, `tres.Nope`, `tres := 1`, `tres + 1`)
	want := []string{"", "", "In[3]:1:6: tres.Nope undefined (type *check.result has no field or method Nope)", "", ""}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("cell %d: got %q, want %q", k+1, got[k], want[k])
		}
	}
}

// TestImporterRenewed checks that a renewed importer finds the standard
// library's export data where the first one found it, without the go
// command, and reads packages anew; it keeps nothing of other packages.
func TestImporterRenewed(t *testing.T) {
	im := newImporter(token.NewFileSet(), "", nil, nil)
	old, err := im.Import("fmt")
	if err != nil {
		t.Fatal(err)
	}
	im.mu.Lock()
	im.exports["example.test/edited"] = "/nonexistent/edited.a"
	im.mu.Unlock()
	n := im.Renewed()
	n.mu.Lock()
	file, std := n.exports["fmt"]
	_, edited := n.exports["example.test/edited"]
	n.mu.Unlock()
	if !std || file != im.exports["fmt"] || edited {
		t.Errorf("renewed export data: fmt %q (%v), the module's package kept: %v; want fmt's file %q only", file, std, edited, im.exports["fmt"])
	}
	again, err := n.Import("fmt")
	if err != nil || again == old {
		t.Errorf("fmt from the renewed importer: %p, %v; want a package read anew (not %p)", again, err, old)
	}
}
