package session

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/interp"
)

// TestRestore: the declarations of one session, restored in a fresh one,
// define the same names, quietly, with their own cell positions; the ones
// that fail are reported.
func TestRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the interpreter")
	}
	old := New(Options{Version: "test"})
	defer old.Shutdown(false)
	cells := []string{
		"import str \"strings\"\nx := 41\nfmt.Println(\"side effect\")",
		"type T struct{ A int }\nfunc (t T) Twice() int { return 2 * t.A }",
		"func f() int { return 0 }\nfunc g() int { return f() + 1 }",
		// f is replaced in its place, before h, which it now uses.
		"func h() int { return x }\nfunc f() int { return h() }\nfunc boom() int { panic(\"at restore\") }",
	}
	for i, c := range cells {
		old.Execute(context.Background(), protocol.ExecuteRequest{Code: c, ExecutionCount: i + 1}, &kerneltest.Publisher{})
	}
	decls := append(old.Decls(), cell.Decl{Kind: cell.VarDecl, Name: "bad", Source: "var bad = nosuch()", Cell: 7, Line: 2})

	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	errs := s.Restore(context.Background(), decls)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "bad (In[7]:2) ") {
		t.Errorf("restore errors: %v, want one for bad", errs)
	}
	if got, want := len(s.Decls()), len(decls)-1; got != want {
		t.Errorf("the store holds %d declarations after the restore, want %d", got, want)
	}
	pub := &kerneltest.Publisher{}
	res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: "str.ToUpper(\"go\") + fmt.Sprint(g(), T{A: 3}.Twice())", ExecutionCount: 9}, pub)
	if res.Error != nil || res.Data["text/plain"] != "GO42 6" {
		t.Errorf("after restore: %+v %v", res.Error, res.Data)
	}
	if out := pub.Text("stdout"); out != "" {
		t.Errorf("restoring printed %q", out)
	}
	res = s.Execute(context.Background(), protocol.ExecuteRequest{Code: "boom()", ExecutionCount: 10}, pub)
	if res.Error == nil || !strings.Contains(strings.Join(res.Error.Traceback, "\n"), "In[4]") {
		t.Errorf("a restored function's panic does not name its cell: %+v", res.Error)
	}
}

// TestRestoreValues: the values one session's variables hold, saved and
// given to a fresh session after its declarations are restored, are
// theirs again (shared pointers and cycles included); what cannot be
// saved is named.
func TestRestoreValues(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the interpreter")
	}
	old := New(Options{Version: "test"})
	defer old.Shutdown(false)
	cells := []string{
		"n := 1000\nm := make(map[int]bool, n)\nfor i := 0; i < n; i++ { m[2*i] = true }\nx := 3",
		"type node struct{ v int; next *node }\nl := &node{v: 1}\nl.next = &node{2, l}\nshared := l.next",
		"type pt struct{ X, Y int; name string }\npts := []pt{}\nfor i := 0; i < 3; i++ { pts = append(pts, pt{i, -i, fmt.Sprint(\"p\", i)}) }",
		"x = 7\nch := make(chan int, 3)\nbig := make([]byte, " + strconv.Itoa(MaxSavedValues+1) + ")",
	}
	for i, c := range cells {
		if res := old.Execute(context.Background(), protocol.ExecuteRequest{Code: c, ExecutionCount: i + 1}, &kerneltest.Publisher{}); res.Error != nil {
			t.Fatalf("In[%d]: %v", i+1, res.Error)
		}
	}
	saved, skipped := old.SaveValues()
	if got := strings.Join(skipped, "\n"); !strings.Contains(got, "ch: a channel") || !strings.Contains(got, "big: with it the values kept would pass") {
		t.Errorf("skipped %q, want ch and big with why", got)
	}

	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	if errs := s.Restore(context.Background(), old.Decls()); len(errs) > 0 {
		t.Fatalf("restore: %v", errs)
	}
	restored, failed := s.RestoreValues(saved)
	if len(failed) > 0 {
		t.Errorf("values not restored: %v", failed)
	}
	for _, want := range []string{"n", "m", "x", "l", "shared", "pts"} {
		if !strings.Contains(" "+strings.Join(restored, " ")+" ", " "+want+" ") {
			t.Errorf("restored %v, want %s among them", restored, want)
		}
	}
	res := s.Execute(context.Background(), protocol.ExecuteRequest{
		Code:           `fmt.Sprintln(x, len(m), m[1998], l.next.next == l, shared == l.next, pts[2].name, pts[1].Y, cap(ch), len(big))`,
		ExecutionCount: 9}, &kerneltest.Publisher{})
	if want := fmt.Sprintf("7 1000 true true true p2 -1 3 %d\n", MaxSavedValues+1); res.Error != nil || res.Data["text/plain"] != want {
		t.Errorf("after restoring values: %+v %v, want %q", res.Error, res.Data, want)
	}
}

// BenchmarkSaveValues measures what saving the variables' values costs
// after every cell (the worker does it when a cell ends), for a few
// kinds of fixture.
func BenchmarkSaveValues(b *testing.B) {
	for _, bm := range []struct{ name, cell string }{
		{"none", "_ = 1"},
		{"ten ints", "a, b, c, d, e, f, g, h, i, j := 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"},
		{"1MiB floats", "xs := make([]float64, 1<<17)"},
		{"map 10k", "m := map[int]int{}\nfor i := 0; i < 10000; i++ { m[i] = i }"},
		{"structs 10k", "type pt struct{ X, Y int; Name string }\nps := make([]pt, 10000)\nfor i := range ps { ps[i].Name = \"p\" }"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			s := New(Options{Version: "test"})
			defer s.Shutdown(false)
			if res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: bm.cell, ExecutionCount: 1}, &kerneltest.Publisher{}); res.Error != nil {
				b.Fatal(res.Error)
			}
			b.ResetTimer()
			for b.Loop() {
				s.SaveValues()
			}
		})
	}
}

// TestSaveValuesWhileGoroutinesRun: a goroutine a cell started may write
// a variable at any time, and reading it then could end the process
// (concurrent map read and write): while one runs, the last values saved
// are kept as they were.
func TestSaveValuesWhileGoroutinesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the interpreter")
	}
	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	run := func(count int, code string) {
		t.Helper()
		if res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: code, ExecutionCount: count}, &kerneltest.Publisher{}); res.Error != nil {
			t.Fatalf("In[%d]: %v", count, res.Error)
		}
	}
	run(1, "m := map[int]int{1: 1}\nstop, started := make(chan bool), make(chan bool)")
	before, _ := s.SaveValues()
	run(2, "go func() {\n\tm[2] = 2\n\tclose(started)\n\tfor i := 0; ; i++ {\n\t\tselect {\n\t\tcase <-stop:\n\t\t\treturn\n\t\tdefault:\n\t\t\tm[i%100] = i\n\t\t}\n\t}\n}()\n<-started")
	for range 200 {
		if saved, _ := s.SaveValues(); fmt.Sprint(saved) != fmt.Sprint(before) {
			t.Fatalf("saved %v while a goroutine ran, want the values saved before it started", saved)
		}
	}
	run(3, "stop <- true")
	// The goroutine ends soon after it receives; give a loaded machine time.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if saved, _ := s.SaveValues(); fmt.Sprint(saved) != fmt.Sprint(before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the values were not saved again after the goroutine ended")
		}
	}
}

// TestDeclChanges checks that a copy of the store that takes what
// DeclChanges reports after each cell stays equal to the store, through
// redefinitions, declarations of several names, failed cells and a
// restore.
func TestDeclChanges(t *testing.T) {
	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	replica := cell.NewStore()
	take := func(step string) {
		t.Helper()
		d, all := s.DeclChanges()
		if all {
			replica = cell.NewStore()
		}
		replica.Add(d...)
		if got, want := replica.Decls(), s.Decls(); !reflect.DeepEqual(got, want) {
			t.Fatalf("after %s: the copy holds %v, the store %v", step, got, want)
		}
	}
	for k, code := range []string{
		"x := 1", `x := "s"`, "a, b := 1, 2", "a := 3", "func f() int { return 1 }",
		"func f() int { return 2 }", "undefinedName", "y := 5; panic(\"p\")", "type T struct{}", "_ = 1",
	} {
		s.Execute(context.Background(), protocol.ExecuteRequest{Code: code, ExecutionCount: k + 1}, &kerneltest.Publisher{})
		take(code)
	}
	fresh := New(Options{Version: "test"})
	defer fresh.Shutdown(false)
	fresh.Restore(context.Background(), append(s.Decls(), cell.Decl{Kind: cell.FuncDecl, Name: "broken", Source: "func broken() { undefinedName() }", Cell: 20, Line: 1}))
	s = fresh
	take("a restore that drops a declaration")
}

// countReads counts the variables SaveValues reads from the interpreter.
type countReads struct {
	*interp.Interp
	reads []string
}

func (c *countReads) Value(name string) (reflect.Value, bool) {
	c.reads = append(c.reads, name)
	return c.Interp.Value(name)
}

// TestSaveValuesAgainOnlyWhatChanged: after a cell, SaveValues reads and
// encodes again only the variables the cell may have changed (its
// declarations, what it assigns, through pointers and methods too, and
// what may share memory with that), keeping the last encoding of the
// others; the values saved restore as they are.
func TestSaveValuesAgainOnlyWhatChanged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the interpreter")
	}
	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	cr := &countReads{Interp: s.eval.(*interp.Interp)}
	s.eval = cr
	cells := []struct{ code, reads string }{
		{"big := map[int]int{}\nfor i := range 1000 { big[i] = i }\nxs := []int{1, 2, 3}\nn := 1", "big xs n"},
		// A cell that declares a type may make the interpreter declare
		// variables again: all are saved again.
		{"type counter struct{ hits int }\nfunc (c *counter) inc() { c.hits++ }\nvar cnt counter", "big cnt n xs"},
		{"type node struct{ v int; next *node }\nl := &node{v: 1}\nl.next = &node{2, l}\nshared := l.next", "big cnt l n shared xs"},
		{"_ = 1", ""},
		{"fmt.Println(len(big), big[3])", ""},
		{"n = 2", "n"},
		{"xs[0] = 9", "xs"},
		// The linked variables (pointers, and cnt, whose address the
		// pointer method took) are encoded again together.
		{"cnt.inc()", "cnt l shared"},
		{"shared.v = 5", "cnt l shared"},
		{"other := &node{v: 9}", "cnt l other shared"},
	}
	var last []harness.SavedVar
	for k, c := range cells {
		if res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: c.code, ExecutionCount: k + 1}, &kerneltest.Publisher{}); res.Error != nil {
			t.Fatalf("In[%d]: %v", k+1, res.Error)
		}
		cr.reads = nil
		saved, skipped := s.SaveValues()
		if len(skipped) > 0 {
			t.Errorf("In[%d]: skipped %v", k+1, skipped)
		}
		slices.Sort(cr.reads)
		reads := strings.Join(slices.Compact(cr.reads), " ")
		want := strings.Fields(c.reads)
		slices.Sort(want)
		if k > 0 && reads != strings.Join(want, " ") {
			t.Errorf("In[%d] %q: SaveValues read %q, want %q", k+1, c.code, reads, c.reads)
		}
		for _, sv := range saved {
			for _, was := range last {
				if was.Name == sv.Name && !strings.Contains(" "+reads+" ", " "+sv.Name+" ") && &was.Data[0] != &sv.Data[0] {
					t.Errorf("In[%d]: %s encoded again", k+1, sv.Name)
				}
			}
		}
		last = saved
	}

	fresh := New(Options{Version: "test"})
	defer fresh.Shutdown(false)
	if errs := fresh.Restore(context.Background(), s.Decls()); len(errs) > 0 {
		t.Fatalf("restore: %v", errs)
	}
	if _, failed := fresh.RestoreValues(last); len(failed) > 0 {
		t.Errorf("values not restored: %v", failed)
	}
	res := fresh.Execute(context.Background(), protocol.ExecuteRequest{
		Code: `fmt.Sprint(len(big), n, xs, cnt.hits, l.next == shared, shared.next == l, shared.v, other.v)`, ExecutionCount: 20}, &kerneltest.Publisher{})
	if want := "1000 2 [9 2 3] 1 true true 5 9"; res.Error != nil || res.Data["text/plain"] != want {
		t.Errorf("restored: %v %v, want %q", res.Error, res.Data, want)
	}
}

// TestSaveValuesCapsBeforeWork: a value whose size alone passes the caps
// is left out without being encoded.
func TestSaveValuesCapsBeforeWork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the interpreter")
	}
	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	code := "many := make(map[int]bool)\nfor i := range " + strconv.Itoa(maxEntries+1) + " { many[i] = true }\nwide := make(map[string]int64, 10)\nfor i := range 10 { wide[fmt.Sprint(i)] = 1 }"
	if res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: code, ExecutionCount: 1}, &kerneltest.Publisher{}); res.Error != nil {
		t.Fatal(res.Error)
	}
	saved, skipped := s.SaveValues()
	if len(saved) != 1 || saved[0].Name != "wide" || len(skipped) != 1 || !strings.Contains(skipped[0], "many: its value holds more than") {
		t.Errorf("saved %v, skipped %q; want wide saved, many left out for its entries", saved, skipped)
	}
	if size, entries := estimate(reflect.ValueOf(map[string]int{"a": 1, "b": 2}), MaxSavedValues); size < 2*9 || entries != 2 {
		t.Errorf("estimate of a map of two entries: %d bytes, %d entries", size, entries)
	}
}
