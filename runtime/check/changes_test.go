package check

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/runtime/cell"
)

// mayChange checks and commits cells in order, in one notebook, as the
// session does (a check alone does not see the statements of earlier
// cells, such as f = func() {...}), and
// returns what the last may have changed, its names sorted ("all" for
// every variable).
func mayChange(t *testing.T, cells ...string) string {
	t.Helper()
	c := newChecker()
	store := cell.NewStore()
	var prog *Program
	for k, src := range cells {
		items, err := cell.ParseIn(c.Fset(), src)
		if err != nil {
			t.Fatalf("cell %d: %v", k+1, err)
		}
		prog, err = c.Check(context.Background(), store, items, k+1)
		if err != nil {
			t.Fatalf("cell %d (%q): %v", k+1, src, err)
		}
		added := declsOf(items, k+1)
		store.Add(added...)
		c.Commit(store, added)
	}
	ch := prog.MayChange()
	if ch.All {
		return "all"
	}
	var names []string
	for n := range ch.Vars {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// fixture is a notebook's first cells: a big map, small variables of
// several types, a counter type with a pointer method, funcs that write
// variables.
var fixture = []string{
	"big := map[string]int{\"k\": 1}\nn := 3\ns := \"text\"\nxs := []int{1, 2}\nfs := []float64{1}",
	"type counter struct{ hits int }\nfunc (c *counter) inc() { c.hits++ }\nfunc (c counter) get() int { return c.hits }\nvar cnt counter",
	"func bump() { n++ }\nfunc twice() { bump(); bump() }\nfunc fill(m map[string]int) { m[\"x\"] = 1 }",
}

func TestMayChange(t *testing.T) {
	tests := []struct {
		name  string
		cells []string // after the fixture
		want  string
	}{
		{"nothing", []string{"_ = 1"}, ""},
		{"len of a map read", []string{"fmt.Println(len(big))"}, ""},
		{"map index read", []string{"big[\"k\"]"}, ""},
		{"printing a map", []string{"fmt.Println(big, n)"}, ""},
		{"a value method", []string{"cnt.get()"}, ""},
		{"declared", []string{"w := []int{1}\nv := 2"}, "v w"},
		{"assigned", []string{"n = 4"}, "n"},
		{"incremented", []string{"n++"}, "n"},
		{"map entry", []string{"big[\"k\"] = 2"}, "big"},
		{"slice element aliases", []string{"a := []int{1}\nb := a", "b[0] = 9"}, "a b xs"},
		{"slice of floats untouched by ints", []string{"xs[0] = 9"}, "xs"},
		// Type-based: any variable that reaches an int may see it change.
		{"through a pointer", []string{"p := &n", "*p = 5"}, "n p xs"},
		{"pointer method", []string{"cnt.inc()"}, "cnt"},
		{"func that writes", []string{"twice()"}, "n"},
		{"func writing its argument", []string{"fill(big)"}, "big"},
		// A func value may be any func, method or func literal of the
		// notebook; a func reaches every variable.
		{"func value", []string{"var f func()\nf = func() { s = \"changed\" }", "f()"}, "big f n s"},
		{"local closure", []string{"func() {\n\tg := func() { n = 1 }\n\tg()\n}()"}, "n"},
		{"sort writes through", []string{"sort.Ints(xs)"}, "xs"},
		{"append may write the backing array", []string{"ys := xs[:1]", "ys = append(ys, 7)"}, "xs ys"},
		{"address taken in a func", []string{"func ptr() *int { return &n }", "*ptr() = 1"}, "n xs"},
		{"interface holds anything", []string{"var anyv any = &n", "*anyv.(*int) = 2"}, "anyv n xs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells := append(append([]string{}, fixture...), tt.cells...)
			if got := mayChange(t, cells...); got != tt.want {
				t.Errorf("%q may change %q, want %q", tt.cells[len(tt.cells)-1], got, tt.want)
			}
		})
	}
}

// TestIncremental: the cells of a notebook that only add declarations or
// run statements are checked against what earlier cells established,
// with no full check of the notebook after the first.
func TestIncremental(t *testing.T) {
	c := newChecker()
	var cells []string
	for k := range 50 {
		cells = append(cells, fmt.Sprintf("func f%d(n int) int { return n * %d }", k, k), fmt.Sprintf("v%d := f%d(%d)", k, k, k))
	}
	cells = append(cells, "_ = 1", "v3 := f4(2)", "func f5(n int) int { return n + 1 }", "type T struct{ A int }",
		"func (t *T) Inc() { t.A++ }", "var tt T\ntt.Inc()", "type T struct{ A int }", "import \"strings\"\nstrings.ToUpper(\"a\")")
	for k, e := range notebook(t, c, cells...) {
		if e != "" {
			t.Fatalf("cell %d (%q): %s", k+1, cells[k], e)
		}
	}
	if c.fulls != 1 {
		t.Errorf("%d full checks, want 1 (of the first cell)", c.fulls)
	}
	// A base grown with many cells is replaced, now and then.
	for k := range 600 {
		items, _ := cell.ParseIn(c.Fset(), "_ = 1")
		if _, err := c.Check(context.Background(), c.base.store, items, 1000+k); err != nil {
			t.Fatal(err)
		}
		c.Commit(c.base.store, nil)
	}
	if c.fulls < 2 || c.fulls > 4 {
		t.Errorf("%d full checks after 600 more cells, want a few", c.fulls)
	}
}

// TestCommitKeepsWhatRan: a cell that failed while it ran keeps the
// declarations of the items that ran; the names of the others are
// undefined in the next cell, as the interpreter has them not.
func TestCommitKeepsWhatRan(t *testing.T) {
	c := newChecker()
	store := cell.NewStore()
	notebookIn := func(src string, count int, keep func(cell.Decl) bool) error {
		items, err := cell.ParseIn(c.Fset(), src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Check(context.Background(), store, items, count); err != nil {
			return err
		}
		added := slices.DeleteFunc(declsOf(items, count), func(d cell.Decl) bool { return !keep(d) })
		store.Add(added...)
		c.Commit(store, added)
		return nil
	}
	all := func(cell.Decl) bool { return true }
	if err := notebookIn("x := 1", 1, all); err != nil {
		t.Fatal(err)
	}
	if err := notebookIn("a := 1\npanic(1)\nb := 2", 2, func(d cell.Decl) bool { return d.Name == "a" }); err != nil {
		t.Fatal(err)
	}
	if err := notebookIn("a + x", 3, all); err != nil {
		t.Errorf("a, which ran: %v", err)
	}
	if err := notebookIn("b", 4, all); err == nil || !strings.Contains(err.Error(), "undefined: b") {
		t.Errorf("b, which did not run: %v, want undefined", err)
	}
	if err := notebookIn("b := \"s\"\nb + \"t\"", 5, all); err != nil {
		t.Errorf("b declared again: %v", err)
	}
}
