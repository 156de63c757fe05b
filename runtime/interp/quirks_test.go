package interp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
)

// quirk is one item of a cell and what to expect of it. The tests in this
// file cover departures of yaegi from Go that the package works around.
type quirk struct {
	kind   cell.Kind
	src    string
	line   int    // default 1
	want   string // with an Expression: the value's %v
	stdout string // the item's whole stdout, when not ""
	errSub string // expected substring of the error's "Name: Value"
	tbSub  string // expected substring of the joined traceback
}

// runQuirks evaluates each item as its own cell (execution count k+1) of
// one fresh interpreter, then ends the cell.
func runQuirks(t *testing.T, items []quirk) {
	t.Helper()
	i, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	for k, q := range items {
		pub := &kerneltest.Publisher{}
		item := cell.Item{Kind: q.kind, Source: q.src, Line: max(q.line, 1)}
		v, has, err := i.Eval(context.Background(), item, k+1, pub)
		if endErr := i.EndCell(context.Background(), k+1, pub); err == nil {
			err = endErr
		}
		if q.errSub != "" || q.tbSub != "" {
			var ke *protocol.Error
			if !errors.As(err, &ke) {
				t.Errorf("item %d %q: error %v, want a *protocol.Error", k+1, q.src, err)
				continue
			}
			if !strings.Contains(err.Error(), q.errSub) {
				t.Errorf("item %d %q: error %q, want one containing %q", k+1, q.src, err, q.errSub)
			}
			if tb := strings.Join(ke.Traceback, "\n"); !strings.Contains(tb, q.tbSub) {
				t.Errorf("item %d %q: traceback %q, want %q in it", k+1, q.src, tb, q.tbSub)
			}
			continue
		}
		if err != nil {
			t.Errorf("item %d %q: %v (stderr %q)", k+1, q.src, err, pub.Text("stderr"))
			continue
		}
		if q.kind == cell.Expression {
			got := "-"
			if has {
				got = fmt.Sprintf("%v", v)
			}
			if got != q.want {
				t.Errorf("item %d %q = %s, want %s", k+1, q.src, got, q.want)
			}
		}
		if q.stdout != "" && pub.Text("stdout") != q.stdout {
			t.Errorf("item %d %q: stdout %q, want %q", k+1, q.src, pub.Text("stdout"), q.stdout)
		}
	}
}

func qs(src, stdout string) quirk { return quirk{kind: cell.Statement, src: src, stdout: stdout} }
func qd(src string) quirk         { return quirk{kind: cell.Declaration, src: src} }
func qe(src, want string) quirk   { return quirk{kind: cell.Expression, src: src, want: want} }

// Native twins of the struct types the unsafe test declares in cells.
type (
	qStruct struct {
		a byte
		b int64
		c int32
	}
	qInner struct {
		p int16
		q int64
	}
	qOuter struct {
		a byte
		qInner
	}
)

func TestUnsafe(t *testing.T) {
	var s qStruct
	var o qOuter
	u := func(v uintptr) string { return fmt.Sprint(v) }
	tests := []struct {
		name  string
		items []quirk
	}{
		{"auto import", []quirk{
			qe("unsafe.Sizeof(int32(0))", "4"),
		}},
		{"import", []quirk{
			{kind: cell.Import, src: `import "unsafe"`},
			qe("unsafe.Sizeof(uint16(0))", "2"),
		}},
		{"cell-declared struct", []quirk{
			qd("type qStruct struct {\n\ta byte\n\tb int64\n\tc int32\n}"),
			qd("var s qStruct"),
			qe("unsafe.Sizeof(s)", u(unsafe.Sizeof(s))),
			qe("unsafe.Alignof(s)", u(unsafe.Alignof(s))),
			qe("unsafe.Alignof(s.b)", u(unsafe.Alignof(s.b))),
			qe("unsafe.Alignof(s.c)", u(unsafe.Alignof(s.c))),
			qe("unsafe.Offsetof(s.a)", u(unsafe.Offsetof(s.a))),
			qe("unsafe.Offsetof(s.b)", u(unsafe.Offsetof(s.b))),
			qe("unsafe.Offsetof(s.c)", u(unsafe.Offsetof(s.c))),
			qs("fmt.Println(unsafe.Sizeof(s), unsafe.Offsetof(s.c), unsafe.Alignof(s.b))",
				fmt.Sprintln(unsafe.Sizeof(s), unsafe.Offsetof(s.c), unsafe.Alignof(s.b))),
			qd("func off() uintptr { var x qStruct; return unsafe.Offsetof(x.c) }"),
			qe("off()", u(unsafe.Offsetof(s.c))),
		}},
		{"embedded struct", []quirk{
			qd("type qInner struct {\n\tp int16\n\tq int64\n}"),
			qd("type qOuter struct {\n\ta byte\n\tqInner\n}"),
			qs("o := qOuter{}", ""),
			qe("unsafe.Sizeof(o)", u(unsafe.Sizeof(o))),
			qe("unsafe.Offsetof(o.qInner)", u(unsafe.Offsetof(o.qInner))),
			qe("unsafe.Offsetof(o.q)", u(unsafe.Offsetof(o.q))),
			qe("unsafe.Offsetof(o.qInner.q)", u(unsafe.Offsetof(o.qInner.q))),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runQuirks(t, tc.items) })
	}
}

func TestTopLevelStatements(t *testing.T) {
	two := qd("func two() (int, error) { return 2, nil }")
	tests := []struct {
		name  string
		items []quirk
	}{
		{"two if-else with init", []quirk{two,
			qs("if v, err := two(); err != nil {\n\tfmt.Println(err)\n} else {\n\tfmt.Println(v)\n}\n"+
				"if v, err := two(); err != nil {\n\tfmt.Println(err)\n} else {\n\tfmt.Println(v)\n}", "2\n2\n"),
		}},
		{"for with := in its body", []quirk{two,
			qs("for { v, err := two(); fmt.Println(v, err); break }", "2 <nil>\n"),
		}},
		{"switch with init", []quirk{two,
			qs("switch v, err := two(); {\ncase err != nil:\n\tfmt.Println(err)\ndefault:\n\tfmt.Println(v)\n}\n"+
				"switch v, _ := two(); v {\ncase 2:\n\tfmt.Println(\"two\")\n}", "2\ntwo\n"),
		}},
		{"cell-level names across runs", []quirk{
			qs("x := 1\nx = 2\nif x > 1 {\n\tx++\n}\ny := x * 10\nfmt.Println(x, y)", "3 30\n"),
			qe("y", "30"),
			qs("var z = 4\nz++\nfmt.Println(z)", "5\n"),
			qe("z", "5"),
		}},
		{"goto and labels", []quirk{
			qs("n := 0\nagain:\nif n < 3 {\n\tn++\n\tgoto again\n}\nfmt.Println(n)", "3\n"),
			qs("outer:\nfor i := 0; i < 3; i++ {\n\tfor j := 0; j < 3; j++ {\n\t\tif j == 1 {\n\t\t\tcontinue outer\n\t\t}\n\t\tfmt.Print(i, j, \" \")\n\t}\n}", "0 0 1 0 2 0 "),
		}},
		{"defer at cell level", []quirk{
			qs("x := 1\nif x > 0 {\n\tdefer fmt.Println(\"deferred\", x)\n}\nx = 2\nfmt.Println(\"body\")", "body\ndeferred 1\n"),
		}},
		{"return stays an error", []quirk{
			{kind: cell.Statement, src: "return", errSub: "CompileError"},
			{kind: cell.Statement, src: "x := 1\nif x > 0 {\n\treturn\n}", errSub: "CompileError: In[2]:"},
		}},
		{"positions in wrapped runs", []quirk{
			{kind: cell.Statement, src: "x := 1\nif x > 0 { fmt.Println(undefinedz) }", line: 3, errSub: "CompileError: In[1]:4:24: undefined: undefinedz"},
			{kind: cell.Statement, src: "x := 1\nif x > 0 {\n\tpanic(\"boom\")\n}", line: 2, errSub: "panic: boom", tbSub: "at In[2]:3"},
			{kind: cell.Statement, src: "x := 1\nif x > 0 {\n\tos.Exit(4)\n}", errSub: "Exit: os.Exit(4) called"},
			qe("1 + 1", "2"),
		}},
		{"expression after statements", []quirk{
			qs("total := 0\nfor i := 1; i <= 4; i++ {\n\ttotal += i\n}", ""),
			qe("total", "10"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runQuirks(t, tc.items) })
	}
}

func TestUndefinedName(t *testing.T) {
	tests := []struct {
		name string
		item quirk
	}{
		{"define", quirk{kind: cell.Statement, src: "y := undefinedThing + 1", errSub: "CompileError: In[1]:1:6: undefined: undefinedThing"}},
		{"define alone", quirk{kind: cell.Statement, src: "\nzz := undefinedThing", line: 3, errSub: "CompileError: In[1]:4:7: undefined: undefinedThing"}},
		{"var", quirk{kind: cell.Declaration, src: "var y = undefinedThing + 1", errSub: "CompileError: In[1]:1:9: undefined: undefinedThing"}},
		{"known names", quirk{kind: cell.Statement, src: "y := len(strings.Repeat(\"a\", 2)) + int(math.MaxInt8)", stdout: ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runQuirks(t, []quirk{tc.item}) })
	}
	// A name whose first use failed stays undefined, not "incomplete",
	// and can be defined afterwards.
	runQuirks(t, []quirk{
		{kind: cell.Statement, src: "y := laterDefined + 1", errSub: "undefined: laterDefined"},
		{kind: cell.Expression, src: "fmt.Println(laterDefined)", errSub: "CompileError: In[2]:1:13: undefined: laterDefined"},
		{kind: cell.Statement, src: "laterDefined := 41"},
		{kind: cell.Statement, src: "y := laterDefined + 1\nfmt.Println(y)", stdout: "42\n"},
	})
}

func TestLoopVariables(t *testing.T) {
	// collect runs loop (which must start goroutines sending into got) and
	// prints the sorted values it collected.
	collect := func(loop string) string {
		return "var wg sync.WaitGroup\nvar mu sync.Mutex\nvar got []int\n" + loop + "\nwg.Wait()\nsort.Ints(got)\nfmt.Println(got)"
	}
	goBody := "{\n\twg.Add(1)\n\tgo func() {\n\t\tdefer wg.Done()\n\t\tmu.Lock()\n\t\tgot = append(got, int(i))\n\t\tmu.Unlock()\n\t}()\n}"
	tests := []struct {
		name  string
		items []quirk
	}{
		{"range over int", []quirk{qs(collect("for i := range 3 "+goBody), "[0 1 2]\n")}},
		{"three-clause", []quirk{qs(collect("for i := 0; i < 3; i++ "+goBody), "[0 1 2]\n")}},
		{"range over slice", []quirk{qs(collect("for _, i := range []int{0, 1, 2} "+goBody), "[0 1 2]\n")}},
		{"range over len and typed limits", []quirk{
			qs("xs := []string{\"a\", \"b\"}\nfor i := range len(xs) {\n\tfmt.Print(i)\n}\nvar n int64 = 2\nfor j := range n {\n\tfmt.Printf(\" %T\", j)\n}", "01 int64 int64"),
		}},
		{"range over a cell-level constant", []quirk{
			qd("const N = 3"),
			qs(collect("for i := range N "+goBody), "[0 1 2]\n"),
			qs("for range N {\n\tfmt.Print(\".\")\n}", "..."),
		}},
		{"range over a func's result, called once", []quirk{
			qd("var calls int"),
			qd("func three() int { calls++; return 3 }"),
			qs("for i := range three() {\n\tfmt.Print(i)\n}\nfor range strings.Count(\"a-b-c\", \"-\") {\n\tfmt.Print(\".\")\n}", "012.."),
			qe("calls", "1"),
			{kind: cell.Statement, src: "x := 1\nfor i := range time.Duration(x) {\n\tfmt.Println(i)\n}", line: 2,
				errSub: "CompileError: In[5]:3:16: cannot range over time.Duration(x): the interpreter ranges over an integer only when"},
		}},
		{"closures over range values", []quirk{
			qs("var fs []func() string\nfor _, s := range []string{\"a\", \"b\", \"c\"} {\n\tfs = append(fs, func() string { return s })\n}\nfor _, f := range fs {\n\tfmt.Print(f())\n}", "abc"),
		}},
		{"body changes the variable", []quirk{
			qs("n := 0\nfor i := range 3 {\n\ti += 10\n\tn++\n}\nfmt.Println(n)", "3\n"),
			qs("m := 0\nfor i := 0; i < 6; i++ {\n\ti++\n\tm++\n\tdefer func() {}()\n}\nfmt.Println(m)", "3\n"),
		}},
		{"in a func declaration, kept across a rebuild", []quirk{
			qd("const K = 3"),
			qd("func ids() []int {\n\tvar wg sync.WaitGroup\n\tvar mu sync.Mutex\n\tvar got []int\n\tfor i := range K " + goBody + "\n\twg.Wait()\n\tsort.Ints(got)\n\treturn got\n}"),
			qe("ids()", "[0 1 2]"),
			qd("type T struct{ A int }"),
			qd("type T struct{ A, B int }"), // rebuilds the interpreter
			qe("ids()", "[0 1 2]"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if raceEnabled {
				t.Skip("yaegi's goroutines race inside yaegi (see race_test.go)")
			}
			runQuirks(t, tc.items)
		})
	}
}

// TestQuirkCells runs whole cells as the session does: split by
// cell.Parse, every item evaluated in order, then EndCell.
func TestQuirkCells(t *testing.T) {
	tests := []struct {
		name, cell, stdout, value, errSub string
	}{
		{name: "if-else twice", cell: "func two() (int, error) { return 2, nil }\n" +
			"if v, err := two(); err != nil { fmt.Println(err) } else { fmt.Println(v) }\n" +
			"if v, err := two(); err != nil { fmt.Println(err) } else { fmt.Println(v) }",
			stdout: "2\n2\n"},
		{name: "loop goroutines", cell: "var wg sync.WaitGroup\nvar mu sync.Mutex\nvar got []int\n" +
			"for i := range 3 {\n\twg.Add(1)\n\tgo func() { defer wg.Done(); mu.Lock(); got = append(got, i); mu.Unlock() }()\n}\n" +
			"wg.Wait()\nsort.Ints(got)\ngot", value: "[0 1 2]"},
		{name: "unsafe", cell: "type P struct {\n\ta bool\n\tb float64\n}\nvar p P\nfmt.Println(unsafe.Sizeof(p), unsafe.Offsetof(p.b), unsafe.Alignof(p))",
			stdout: "16 8 8\n"},
		{name: "undefined", cell: "x := 1\ny := undefinedThing + x", errSub: "In[1]:2:6: undefined: undefinedThing"},
		{name: "defer and value", cell: "n := 2\ndefer fmt.Println(\"deferred\")\nif n > 1 {\n\tfmt.Println(\"body\")\n}\nn * 21", stdout: "body\ndeferred\n", value: "42"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if raceEnabled && tc.name == "loop goroutines" {
				t.Skip("yaegi's goroutines race inside yaegi (see race_test.go)")
			}
			i, err := New(Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer i.Close()
			items, err := cell.Parse(tc.cell)
			if err != nil {
				t.Fatal(err)
			}
			pub := &kerneltest.Publisher{}
			value := ""
			for _, it := range items {
				var v any
				rv, has, e := i.Eval(context.Background(), it, 1, pub)
				if e != nil {
					err = e
					break
				}
				if has {
					v = rv.Interface()
					value = fmt.Sprint(v)
				}
			}
			if e := i.EndCell(context.Background(), 1, pub); err == nil {
				err = e
			}
			if tc.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("error %v, want one containing %q", err, tc.errSub)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v (stderr %q)", err, pub.Text("stderr"))
			}
			if got := pub.Text("stdout"); got != tc.stdout {
				t.Errorf("stdout %q, want %q", got, tc.stdout)
			}
			if value != tc.value {
				t.Errorf("value %q, want %q", value, tc.value)
			}
		})
	}
}

func TestReplayIsQuiet(t *testing.T) {
	i, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	pub := &kerneltest.Publisher{}
	cells := []struct {
		kind cell.Kind
		src  string
	}{
		{cell.Declaration, "type T struct{ A int }"},
		{cell.Statement, `x := func() int { fmt.Println("initialising x"); return 7 }()`},
		{cell.Declaration, "type T struct{ A, B int }"},
	}
	for n, c := range cells {
		if _, _, err := i.Eval(context.Background(), cell.Item{Kind: c.kind, Source: c.src, Line: 1}, n+1, pub); err != nil {
			t.Fatalf("In[%d] %q: %v", n+1, c.src, err)
		}
	}
	if got := strings.Count(pub.Text("stdout"), "initialising x"); got != 1 {
		t.Errorf("initialiser output shown %d times, want once (replay after redefining T must be quiet); stdout %q", got, pub.Text("stdout"))
	}
	v, _, err := i.Eval(context.Background(), cell.Item{Kind: cell.Expression, Source: "x", Line: 1}, 4, pub)
	if err != nil || v.Interface() != 7 {
		t.Errorf("x after replay = %v, %v; want 7", v, err)
	}
}

// TestValidGoYaegiMishandles covers valid Go that yaegi v0.16 gets wrong
// on its own, and how the package (or the session's type checker) makes
// it run.
func TestValidGoYaegiMishandles(t *testing.T) {
	tests := []struct {
		name  string
		items []quirk
	}{
		// yaegi: "variable definition loop" when a package-level var is
		// initialised from a top-level :=; var declarations are run where
		// := puts its variables.
		{"var from :=", []quirk{qs("a := 5", ""), qd("var b = a"), qe("b", "5"), qd("var c, d = a, b"), qe("c + d", "10")}},
		// yaegi: "undefined: isOdd" when each func is evaluated alone;
		// cell.Parse makes adjacent declarations one item.
		{"mutual recursion in one item", []quirk{
			qd("func isEven(n int) bool { if n == 0 { return true }; return isOdd(n - 1) }\nfunc isOdd(n int) bool { if n == 0 { return false }; return isEven(n - 1) }"),
			qe("isEven(10)", "true"),
		}},
		// yaegi: "undefined: appendOrders" after the type it uses was
		// changed (appendOrders dropped) and restored; dropped
		// declarations are tried again at each rebuild.
		{"type changed and restored", []quirk{
			qd("type Order struct{ ID int }"),
			qd("func appendOrders(o []Order, n int) []Order { for i := range n { o = append(o, Order{i}) }; return o }"),
			qd("type Order struct{ ID int; Name string }"),
			qd("type Order struct{ ID int }"),
			qe("len(appendOrders(nil, 3))", "3"),
		}},
		// yaegi gives the untyped 1 of 1<<n type int where Go gives it
		// the context's type (uint64), and panics in reflect; the type
		// checker's fix (check.Program.Fixes) writes uint64(1)<<n.
		{"shift of an untyped constant, as yaegi runs it", []quirk{
			qd("type bitset []uint64\nfunc (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }"),
			{kind: cell.Expression, src: "bitset{5}.has(2)", errSub: "reflect: call of reflect.Value.Uint on int Value"},
		}},
		{"shift of an untyped constant, as the checker fixes it", []quirk{
			qd("type bitset []uint64\nfunc (b bitset) has(i int) bool { return b[i/64]&(uint64(1)<<(i%64)) != 0 }"),
			qe("bitset{5}.has(2)", "true"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runQuirks(t, tc.items) })
	}
}
