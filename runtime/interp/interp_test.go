package interp

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
)

func newPub() *kerneltest.Publisher { return &kerneltest.Publisher{} }

// displaysOf returns the displays and updates pub recorded, in order.
func displaysOf(pub *kerneltest.Publisher) []kerneltest.Output {
	var out []kerneltest.Output
	for _, o := range pub.Outputs() {
		if o.Kind == kerneltest.DisplayKind || o.Kind == kerneltest.UpdateKind {
			out = append(out, o)
		}
	}
	return out
}

// clearsOf returns the wait flags of the clear_outputs pub recorded.
func clearsOf(pub *kerneltest.Publisher) []bool {
	var out []bool
	for _, o := range pub.Outputs() {
		if o.Kind == kerneltest.ClearKind {
			out = append(out, o.Wait)
		}
	}
	return out
}

func newInterp(t *testing.T) *Interp {
	t.Helper()
	i, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { i.Close() })
	return i
}

// step is one item to evaluate and what to expect of it.
type step struct {
	kind   cell.Kind
	src    string
	line   int    // default 1
	want   string // with an Expression: the value's %v; "-" for no value
	errSub string // expected substring of the error's name: value
	stdout string // expected substring of stdout
	stderr string // expected substring of stderr
}

func st(src string) step            { return step{kind: cell.Statement, src: src} }
func dc(src string) step            { return step{kind: cell.Declaration, src: src} }
func ex(src, want string) step      { return step{kind: cell.Expression, src: src, want: want} }
func fails(s step, sub string) step { s.errSub = sub; return s }

// runSteps evaluates steps in one interpreter, each as its own cell.
func runSteps(t *testing.T, i *Interp, steps []step) {
	t.Helper()
	for n, s := range steps {
		pub := newPub()
		line := s.line
		if line == 0 {
			line = 1
		}
		item := cell.Item{Kind: s.kind, Source: s.src, Line: line}
		v, has, err := i.Eval(context.Background(), item, n+1, pub)
		if s.errSub != "" {
			if err == nil || !strings.Contains(err.Error(), s.errSub) {
				t.Errorf("step %d %q: error %v, want one containing %q", n+1, s.src, err, s.errSub)
			}
			continue
		}
		if err != nil {
			t.Errorf("step %d %q: %v (stderr %q)", n+1, s.src, err, pub.Text("stderr"))
			continue
		}
		if s.kind == cell.Expression {
			got := "-"
			if has {
				got = fmt.Sprintf("%v", v)
			}
			if got != s.want {
				t.Errorf("step %d %q = %s, want %s", n+1, s.src, got, s.want)
			}
		}
		if s.stdout != "" && !strings.Contains(pub.Text("stdout"), s.stdout) {
			t.Errorf("step %d %q: stdout %q, want %q in it", n+1, s.src, pub.Text("stdout"), s.stdout)
		}
		if s.stderr != "" && !strings.Contains(pub.Text("stderr"), s.stderr) {
			t.Errorf("step %d %q: stderr %q, want %q in it", n+1, s.src, pub.Text("stderr"), s.stderr)
		}
	}
}

// evalTests are sequences of cells, each run in a fresh interpreter by TestEval.
var evalTests = []struct {
	name  string
	steps []step
}{
	{"expressions", []step{
		ex("1 + 2 + 3", "6"),
		ex("[]int{1, 4, 9}", "[1 4 9]"),
		dc("func g() {}"),
		ex("g()", "-"),
		dc("func two() (int, string) { return 1, \"a\" }"),
		ex("two()", "1"),
		ex(`fmt.Println("quiet")`, "-"),
		ex(`fmt.Sprint("shown")`, "shown"),
		ex(`println("builtin")`, "-"),
	}},
	{"redefine vars funcs consts", []step{
		st("x := 1"), st("x := 2"), ex("x", "2"),
		st(`x := "s"`), ex("x", "s"),
		dc("var x = 3.5"), ex("x", "3.5"),
		dc("func f() int { return 1 }"), ex("f()", "1"),
		dc("func f() int { return 2 }"), ex("f()", "2"),
		dc("const c = 1"), dc("const c = 2"), ex("c", "2"),
	}},
	{"redefine type and method", []step{
		dc("type T struct{ A int }"),
		dc("func (t T) M() int { return t.A }"),
		ex("T{1}.M()", "1"),
		st("n := 40"), st("n++"),
		st("ts := []T{{A: 5}}"),
		dc("func (t T) M() int { return t.A * 10 }"),
		ex("T{1}.M()", "10"),
		dc("type T struct{ A, B int }"),
		ex("T{1, 2}", "{1 2}"),
		ex("T{3, 4}.M()", "30"),
		ex("n", "41"), // plain data of an unchanged type keeps its value
		ex("len(ts)", "1"),
		dc("type T struct{ A, B int }"), // unchanged: no rebuild
		ex("T{5, 6}.B", "6"),
	}},
	{"redefinition drops what no longer compiles", []step{
		dc("type P struct{ A int }"),
		dc("func (p P) Get() int { return p.A }"),
		{kind: cell.Declaration, src: "type P struct{ B int }", stderr: "P.Get (In[2]:1) was dropped"},
		ex("P{B: 2}.B", "2"),
		fails(ex("P{B: 2}.Get()", ""), "Get"),
	}},
	{"auto import", []step{
		{kind: cell.Statement, src: `fmt.Println("hello")`, stdout: "hello\n"},
		ex(`strings.ToUpper("go")`, "GO"),
		ex("rand.Intn(1)", "0"), // math/rand
		ex(`template.HTMLEscapeString("<")`, "&lt;"),
		dc("var buf bytes.Buffer"),
		st(`buf.WriteString("b")`), ex("buf.String()", "b"),
		{kind: cell.Import, src: `import "crypto/rand"`},
		ex("rand.Reader != nil", "true"),
		{kind: cell.Import, src: `import "fmt"`}, // already there
		st("sort := 3"), ex("sort", "3"),         // a variable is not a package
	}},
	{"streams", []step{
		{kind: cell.Statement, src: `fmt.Print("a"); fmt.Printf("%d", 1)`, stdout: "a1"},
		{kind: cell.Statement, src: `os.Stdout.WriteString("w")`, stdout: "w"},
		{kind: cell.Statement, src: `fmt.Fprintln(os.Stderr, "e")`, stderr: "e\n"},
		{kind: cell.Statement, src: `log.Println("logged")`, stderr: "logged"},
	}},
	{"errors", []step{
		fails(step{kind: cell.Expression, src: "\nundefinedz + 1", line: 3}, "CompileError: In[1]:4:1: undefined: undefinedz"),
		fails(st(`panic("boom")`), "panic: boom"),
		dc("func h() { var m map[string]int; m[\"a\"] = 1 }"),
		fails(st("h()"), "panic: assignment to entry in nil map"),
		fails(st("x := ("), "CompileError: In[5]:"),
		fails(st("os.Exit(3)"), "Exit: os.Exit(3) called: the cell stopped; the kernel keeps running"),
		fails(st(`log.Fatal("fatal!")`), "Exit: log.Fatal called (exit status 1): the cell stopped"),
		fails(st(`log.Fatalf("%d", 1)`), "Exit: log.Fatalf called (exit status 1)"),
		{kind: cell.Statement, src: `log.Println("still logging")`, stderr: "still logging"},
		ex("1", "1"),
	}},
	{"goroutines", []step{
		{kind: cell.Statement, src: "done := make(chan bool)\ngo func() { defer close(done); panic(\"bad\") }()\n<-done\ntime.Sleep(20 * time.Millisecond)", stderr: "panic in goroutine: bad"},
		dc("func boom(n int, c chan bool) { defer close(c); panic(fmt.Sprint(\"n=\", n)) }"),
		{kind: cell.Statement, src: "c := make(chan bool)\ngo boom(7, c)\n<-c\ntime.Sleep(20 * time.Millisecond)", stderr: "panic in goroutine: n=7"},
		dc("func send(c chan int, n float64) { time.Sleep(10 * time.Millisecond); c <- int(n) }"),
		dc("const k = 2"),
		st("ch := make(chan int, 2)"),
		st("v := 1.0\ngo send(ch, v)\ngo send(ch, k)\nv = 5"), // arguments are evaluated at the go statement
		ex("<-ch + <-ch", "3"),
		fails(st("go os.Exit(1)\ntime.Sleep(20 * time.Millisecond)\npanic(\"after\")"), "after"),
		ex("1", "1"), // still alive
		dc("func spawn(c chan bool) { go func() { defer close(c); var s []int; _ = s[3] }() }"),
		{kind: cell.Statement, src: "c2 := make(chan bool)\nspawn(c2)\n<-c2\ntime.Sleep(20 * time.Millisecond)", stderr: "index out of range"},
		// Callbacks run later on goroutines of their own: guarded too.
		{kind: cell.Statement, src: "time.AfterFunc(time.Millisecond, func() { var m map[string]int; m[\"x\"] = 1 })\ntime.Sleep(50 * time.Millisecond)", stderr: "panic in goroutine: assignment to entry in nil map"},
		{kind: cell.Statement, src: "cctx, cancel := context.WithCancel(context.Background())\ncontext.AfterFunc(cctx, func() { panic(\"later\") })\ncancel()\ntime.Sleep(50 * time.Millisecond)", stderr: "panic in goroutine: later"},
	}},
	{"imports and keyword statements", []step{
		{kind: cell.Import, src: "import (\n\t\"fmt\"\n\tstr \"strings\"\n)"},
		ex(`str.Repeat("ab", 2)`, "abab"),
		fails(step{kind: cell.Import, src: "import (\n\t\"fmt\"\n\t\"nosuch/pkg\"\n)", line: 4}, "In[3]:6:"),
		fails(step{kind: cell.Import, src: `import "github.com/google/uuid"`}, `cannot import "github.com/google/uuid": interpreted cells can import only the standard library`),
		{kind: cell.Statement, src: "var greeting = \"hi\"\nfmt.Println(greeting)", stdout: "hi\n"},
		ex("func() int { return 7 }()", "7"),
	}},
}

func TestEval(t *testing.T) {
	for _, tc := range evalTests {
		t.Run(tc.name, func(t *testing.T) {
			if raceEnabled && tc.name == "goroutines" {
				t.Skip("yaegi's goroutines race with later evaluations inside yaegi (see race_test.go)")
			}
			runSteps(t, newInterp(t), tc.steps)
		})
	}
}

func TestPanicTraceback(t *testing.T) {
	i := newInterp(t)
	pub := newPub()
	if _, _, err := i.Eval(context.Background(), cell.Item{Kind: cell.Declaration, Source: "func k() {\n\tpanic(\"deep\")\n}", Line: 2}, 1, pub); err != nil {
		t.Fatal(err)
	}
	_, _, err := i.Eval(context.Background(), cell.Item{Kind: cell.Statement, Source: "k()", Line: 4}, 2, pub)
	var ke *protocol.Error
	if !errors.As(err, &ke) || ke.Name != "panic" || ke.Value != "deep" {
		t.Fatalf("err = %#v, want panic deep", err)
	}
	tb := strings.Join(ke.Traceback, "\n")
	for _, want := range []string{"In[1]:3:2", "In[2]:4:1"} {
		if !strings.Contains(tb, want) {
			t.Errorf("traceback %q lacks %s", tb, want)
		}
	}
	if s := pub.Text("stderr"); s != "" {
		t.Errorf("stderr %q, want nothing (the trace belongs in the traceback)", s)
	}
}

func TestInterrupt(t *testing.T) {
	if raceEnabled {
		t.Skip("yaegi's interrupt is racy by design (see race_test.go)")
	}
	i := newInterp(t)
	runSteps(t, i, []step{st("kept := 42")})
	for _, src := range []string{"for {}", "time.Sleep(time.Hour)", "select {}", "var s string\nfmt.Scanln(&s)"} {
		ctx, cancel := context.WithCancel(context.Background())
		pub := newPub()
		pub.Answer = func(ctx context.Context, _ string, _ bool) (string, error) { <-ctx.Done(); return "", ctx.Err() }
		time.AfterFunc(100*time.Millisecond, cancel)
		done := make(chan error, 1)
		go func() {
			_, _, err := i.Eval(ctx, cell.Item{Kind: cell.Statement, Source: src, Line: 1}, 2, pub)
			done <- err
		}()
		select {
		case err := <-done:
			var ke *protocol.Error
			if !errors.As(err, &ke) || ke.Name != "Interrupted" {
				t.Errorf("%q: err = %v, want Interrupted", src, err)
			}
		case <-time.After(1100 * time.Millisecond):
			t.Fatalf("%q: not interrupted within 1 s", src)
		}
		cancel()
		runSteps(t, i, []step{ex("kept", "42")})
	}
}

func TestStdin(t *testing.T) {
	i := newInterp(t)
	lines := []string{"alice", "bob and carol"}
	pub := newPub()
	pub.Answer = kerneltest.Answers(lines...)
	eval := func(n int, kind cell.Kind, src string) reflect.Value {
		t.Helper()
		v, _, err := i.Eval(context.Background(), cell.Item{Kind: kind, Source: src, Line: 1}, n, pub)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		return v
	}
	eval(1, cell.Statement, "var name string\nfmt.Scanln(&name)")
	if v := eval(1, cell.Expression, "name"); v.String() != "alice" {
		t.Errorf("fmt.Scanln read %q, want alice", v)
	}
	eval(2, cell.Statement, "r := bufio.NewReader(os.Stdin)\nline, _ := r.ReadString('\\n')")
	if v := eval(2, cell.Expression, "line"); v.String() != "bob and carol\n" {
		t.Errorf("bufio read %q", v)
	}
	if n := len(pub.Prompts()); n != 2 {
		t.Errorf("%d input requests, want 2", n)
	}
	// The client does not allow stdin: the read returns
	// protocol.ErrStdinNotAllowed to the code, and the cell fails with a
	// clear error even though the code ignored it.
	pub.Answer = nil
	for n, src := range []string{
		"_, err := fmt.Scanln(&name)",
		"_, err = bufio.NewReader(os.Stdin).ReadString('\\n')",
	} {
		_, _, err := i.Eval(context.Background(), cell.Item{Kind: cell.Statement, Source: src, Line: 1}, 3+n, pub)
		var ke *protocol.Error
		if !errors.As(err, &ke) || ke.Name != "StdinNotAllowed" || !strings.Contains(ke.Value, "allow_stdin is false") {
			t.Errorf("%q: err = %v, want a StdinNotAllowed error", src, err)
		}
		if v := eval(3+n, cell.Expression, "err.Error()"); v.String() != protocol.ErrStdinNotAllowed.Error() {
			t.Errorf("%q: the code got error %q, want %q", src, v, protocol.ErrStdinNotAllowed)
		}
	}
	// The next cell is not affected.
	if v := eval(5, cell.Expression, "name"); v.String() != "alice" {
		t.Errorf("name = %q after the refused reads, want alice", v)
	}
}

func TestDisplay(t *testing.T) {
	i := newInterp(t)
	pub := newPub()
	steps := []struct {
		src  string
		kind cell.Kind
	}{
		{`display.HTML("<b>x</b>")`, cell.Expression},
		{`h := display.Markdown("# a")`, cell.Statement},
		{`h.Markdown("# b")`, cell.Statement},
		{`display.PNG([]byte{1, 2, 3})`, cell.Expression},
		{`display.JSON(map[string]int{"a": 1})`, cell.Expression},
		{`display.ClearOutput()`, cell.Expression},
	}
	for n, s := range steps {
		_, has, err := i.Eval(context.Background(), cell.Item{Kind: s.kind, Source: s.src, Line: 1}, n+1, pub)
		if err != nil {
			t.Fatalf("%q: %v", s.src, err)
		}
		if has {
			t.Errorf("%q has a value, want none", s.src)
		}
	}
	d := displaysOf(pub)
	if len(d) != 5 {
		t.Fatalf("%d displays, want 5: %v", len(d), d)
	}
	if d[0].Data["text/html"] != "<b>x</b>" || d[0].Data["text/plain"] != "x" || d[0].Kind == kerneltest.UpdateKind {
		t.Errorf("HTML display %v", d[0])
	}
	if d[2].Kind != kerneltest.UpdateKind || d[2].DisplayID != d[1].DisplayID || d[1].DisplayID == "" || d[2].Data["text/markdown"] != "# b" {
		t.Errorf("update %v of %v", d[2], d[1])
	}
	if d[3].Data["image/png"] != "AQID" {
		t.Errorf("PNG %v", d[3].Data)
	}
	if m, ok := d[4].Data["application/json"].(map[string]any); !ok || m["a"] != 1.0 {
		t.Errorf("JSON %#v", d[4].Data)
	}
	if c := clearsOf(pub); len(c) != 1 || c[0] {
		t.Errorf("clears %v", c)
	}
}

// Result is what %timeit gives to SetVar.
type Result struct {
	Average time.Duration
	Runs    int
}

func (r Result) Double() int { return 2 * r.Runs }

func TestSetVar(t *testing.T) {
	i := newInterp(t)
	if err := i.SetVar("r", Result{Average: 1500, Runs: 7}); err != nil {
		t.Fatal(err)
	}
	runSteps(t, i, []step{ex("r.Average", "1.5µs"), ex("r.Double()", "14")})
	if err := i.SetVar("r", Result{Runs: 8}); err != nil {
		t.Fatal(err)
	}
	runSteps(t, i, []step{
		ex("r.Runs", "8"),
		dc("type U int"), dc("type U string"), // rebuild: r survives
		ex("r.Runs", "8"),
	})
	if err := i.SetVar("1x", 1); err == nil {
		t.Error("SetVar accepted 1x")
	}
}

func TestRewriteGo(t *testing.T) {
	const rec = "_pnbGID := _pnbrt.GoBegin(); defer func() { _pnbrt.GoEnd(_pnbGID); if r := recover(); r != nil { _pnbrt.GoPanic(r) } }()"
	tests := []struct{ src, want string }{
		{"go f(x, 1)", "{ _pnbG1f, _pnbG1a0 := /*line In[1]/_.go:1:4*/f, /*line In[1]/_.go:1:6*/x; _pnbrt.GoStart(); go func() { " + rec + "; _pnbG1f(_pnbG1a0, /*line In[1]/_.go:1:9*/1) }() }"},
		{"go func() {}()", "{ _pnbrt.GoStart(); /*line In[1]/_.go:1:1*/go func() {_pnbGID := _pnbrt.GoBegin(); defer func() { _pnbrt.GoEnd(_pnbGID); if r := recover(); r != nil { _pnbrt.GoPanic(r) } }()/*line In[1]/_.go:1:12*/}() }"},
		{"go println(x)", "{ _pnbG1a0 := /*line In[1]/_.go:1:12*/x; _pnbrt.GoStart(); go func() { " + rec + "; println(_pnbG1a0) }() }"},
		{"go f(a,\n\tb...)", "{ _pnbG1f, _pnbG1a0, _pnbG1a1 := /*line In[1]/_.go:1:4*/f, /*line In[1]/_.go:1:6*/a, /*line In[1]/_.go:2:2*/b; _pnbrt.GoStart(); go func() { " + rec + "; _pnbG1f(_pnbG1a0, _pnbG1a1...) }() }"},
		{"x := 1", "x := 1"},
	}
	for _, tc := range tests {
		seq := 0
		a := analyze(cell.Statement, tc.src, func(string) bool { return false }, &seq)
		if a == nil {
			t.Fatalf("%q does not parse", tc.src)
		}
		if got := a.t.printItem(1, 1); got != tc.want {
			t.Errorf("rewrite %q:\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}
}

func TestClose(t *testing.T) {
	i, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := i.Eval(context.Background(), cell.Item{Kind: cell.Expression, Source: "1"}, 1, newPub()); err == nil {
		t.Error("Eval after Close succeeded")
	}
}

func BenchmarkEvalTrivial(b *testing.B) {
	i, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer i.Close()
	pub := newPub()
	item := cell.Item{Kind: cell.Statement, Source: "_ = 1", Line: 1}
	for b.Loop() {
		if _, _, err := i.Eval(context.Background(), item, 1, pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		i, err := New(Options{})
		if err != nil {
			b.Fatal(err)
		}
		i.Close()
	}
}

// TestCells runs whole cells split by cell.Parse, as the session does.
func TestCells(t *testing.T) {
	i := newInterp(t)
	cells := []struct {
		src, want, stdout string
	}{
		{"type T struct{ A int }\nfunc (t T) Sum() int { return t.A }\nvar counter = 0\nx := T{1}\nx.Sum()", "1", ""},
		{"counter++\ntype T struct{ A, B int }\nfunc (t T) Sum() int { return t.A + t.B }\nT{1, 2}.Sum()", "3", ""},
		{"counter", "1", ""},
		{"var counter = 0\ncounter", "0", ""}, // re-running a var resets it
		{"x := 5\nfmt.Println(\"x is\", x)\nx * 2", "10", "x is 5\n"},
		{"func (t T) Sum() int { return 100 }\nT{}.Sum()", "100", ""},
	}
	for n, c := range cells {
		items, err := cell.Parse(c.src)
		if err != nil {
			t.Fatalf("cell %d: %v", n+1, err)
		}
		pub := newPub()
		got := "-"
		for _, it := range items {
			v, has, err := i.Eval(context.Background(), it, n+1, pub)
			if err != nil {
				t.Fatalf("cell %d item %q: %v", n+1, it.Source, err)
			}
			if has {
				got = fmt.Sprint(v)
			}
		}
		if got != c.want || !strings.Contains(pub.Text("stdout"), c.stdout) {
			t.Errorf("cell %d = %s (stdout %q), want %s (%q)", n+1, got, pub.Text("stdout"), c.want, c.stdout)
		}
	}
}

func TestAutoImports(t *testing.T) {
	i := newInterp(t)
	runSteps(t, i, []step{
		ex(`strings.ToLower("A") + fmt.Sprint(rand.Intn(1))`, "a0"),
		{kind: cell.Import, src: `import "os"`},
	})
	want := map[string]string{"strings": "strings", "fmt": "fmt", "rand": "math/rand", "os": "os"}
	if got := i.AutoImports(); !reflect.DeepEqual(got, want) {
		t.Errorf("AutoImports() = %v, want %v", got, want)
	}
}

func TestRuntimeErrorMessages(t *testing.T) {
	const (
		index = "panic: runtime error: index out of range"
		slice = "panic: runtime error: slice bounds out of range"
		nilp  = "panic: runtime error: invalid memory address or nil pointer dereference"
	)
	tests := []struct {
		src  string
		want string // the error's "name: value"
		line string // a traceback line that must be kept
	}{
		{"var a []int\n_ = a[5]", index, "In[1]:"},
		{"s := \"abc\"\n_ = s[9]", index, "In[1]:2:"},
		{"arr := [3]int{}\nk := 5\n_ = arr[k]", index, "In[1]:3:"},
		{"x := []int{1, 2, 3}\n_ = x[1:10]", slice, "In[1]:2:"},
		{"x := []int{1, 2, 3}\n_ = x[1:2:9]", slice, "In[1]:2:"},
		{"str := \"hello\"\n_ = str[2:10]", slice, "In[1]:2:"},
		{"var p *int\n*p = 1", nilp, "In[1]:2:"},
		{"var sp *struct{ B int }\nsp.B = 3", nilp, "In[1]:2:"},
		{"var fn func()\nfn()", nilp, "In[1]:2:"},
		{"n := -1\n_ = make([]int, n)", "panic: runtime error: makeslice: len out of range", "In[1]:2:"},
	}
	for _, tc := range tests {
		i := newInterp(t)
		// Each line is its own item, as cell.Parse makes them.
		var err error
		for n, l := range strings.Split(tc.src, "\n") {
			_, _, err = i.Eval(context.Background(), cell.Item{Kind: cell.Statement, Source: l, Line: n + 1}, 1, newPub())
		}
		var ke *protocol.Error
		if !errors.As(err, &ke) {
			t.Errorf("%q: err = %v, want a cell error", tc.src, err)
			continue
		}
		if got := ke.Error(); !strings.HasPrefix(got, tc.want) || strings.Contains(got, "reflect") {
			t.Errorf("%q: error %q, want %q", tc.src, got, tc.want)
		}
		if tb := strings.Join(ke.Traceback, "\n"); !strings.Contains(tb, tc.line) || strings.Contains(tb, "reflect") {
			t.Errorf("%q: traceback %q, want %s in it and no reflect", tc.src, tb, tc.line)
		}
	}
	// Messages that are not reflect's are kept.
	for _, msg := range []string{"boom", "assignment to entry in nil map", "reflect: something else"} {
		if got := goMessage(msg); got != msg {
			t.Errorf("goMessage(%q) = %q, want it unchanged", msg, got)
		}
	}
}

func TestCellFrameInsideItem(t *testing.T) {
	// yaegi may place a run-time error of a loop at a node of an earlier
	// item; the cell's frame must still name a line of the failing item.
	i := newInterp(t)
	runSteps(t, i, []step{st("x := []int{1, 2, 3}")})
	src := "for i := 0; i < 5; i++ {\n\t_ = x[i]\n}"
	_, _, err := i.Eval(context.Background(), cell.Item{Kind: cell.Statement, Source: src, Line: 3}, 2, newPub())
	var ke *protocol.Error
	if !errors.As(err, &ke) || len(ke.Traceback) == 0 {
		t.Fatalf("err = %v, want a panic", err)
	}
	last := ke.Traceback[len(ke.Traceback)-1]
	if p, fn, ok := cell.ParseFrame(last); !ok || fn != "cell" || p.Cell != 2 || p.Line < 3 || p.Line > 5 {
		t.Errorf("cell frame %q, want one in In[2] lines 3-5", last)
	}
}

// TestDeferArguments checks that a cell-level deferred call gets its
// arguments' values of the moment of the defer statement, whatever their
// kind, in a loop too.
func TestDeferArguments(t *testing.T) {
	i := newInterp(t)
	tests := []struct{ src, want string }{
		{"for k := range 3 { defer fmt.Print(k, \" \") }", "2 1 0 "},
		{"for k := 0; k < 2; k++ { v := k * 10; defer fmt.Println(\"v\", v) }", "v 10\nv 0\n"},
		{"func show(p string, xs ...int) { fmt.Println(p, xs) }\nys := []int{1, 2}\ndefer show(\"spread\", ys...)\ndefer show(\"plain\", 7, 8)", "plain [7 8]\nspread [1 2]\n"},
		{"func half(x float64) { fmt.Println(x / 2) }\ndefer half(3)", "1.5\n"},
		{"func isNil(e error) { fmt.Println(e == nil) }\ndefer isNil(nil)", "true\n"},
		{"ch := make(chan int)\ndefer close(ch)\ndefer fmt.Println(\"builtin last\")", "builtin last\n"},
	}
	for n, tt := range tests {
		pub := newPub()
		items, err := cell.ParseIn(token.NewFileSet(), tt.src)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if _, _, err := i.Eval(context.Background(), it, n+1, pub); err != nil {
				t.Fatalf("%q: %v", tt.src, err)
			}
		}
		if err := i.EndCell(context.Background(), n+1, pub); err != nil {
			t.Errorf("%q: %v", tt.src, err)
		}
		if got := pub.Text("stdout"); got != tt.want {
			t.Errorf("%q printed %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestDeferAtCellLevel(t *testing.T) {
	i := newInterp(t)
	pub := newPub()
	eval := func(n int, src string) error {
		_, _, err := i.Eval(context.Background(), cell.Item{Kind: cell.Statement, Source: src, Line: 1}, n, pub)
		return err
	}
	// Arguments are evaluated at the defer statement; calls run last
	// first, when the cell ends, once.
	for _, src := range []string{
		`x := 1`,
		`defer fmt.Println("first deferred", x)`,
		"if true {\n\tdefer fmt.Println(\"second deferred\")\n}",
		`x = 2`,
		`func() { defer fmt.Println("inner"); fmt.Println("body") }()`,
	} {
		if err := eval(1, src); err != nil {
			t.Fatalf("%q: %v", src, err)
		}
	}
	if got := pub.Text("stdout"); got != "body\ninner\n" {
		t.Errorf("before the cell ends, stdout %q, want only the func literal's output", got)
	}
	if err := i.EndCell(context.Background(), 1, pub); err != nil {
		t.Fatal(err)
	}
	want := "body\ninner\nsecond deferred\nfirst deferred 1\n"
	if got := pub.Text("stdout"); got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	// Later cells do not make the calls again.
	if err := eval(2, `fmt.Println("next cell")`); err != nil {
		t.Fatal(err)
	}
	if err := i.EndCell(context.Background(), 2, pub); err != nil {
		t.Fatal(err)
	}
	if got := pub.Text("stdout"); got != want+"next cell\n" {
		t.Errorf("stdout %q: a deferred call ran again", got)
	}
	// os.Exit drops the deferred calls, as in Go.
	if err := eval(3, `defer fmt.Println("not after exit")`); err != nil {
		t.Fatal(err)
	}
	if err := eval(3, `os.Exit(2)`); err == nil {
		t.Fatal("os.Exit did not fail the cell")
	}
	if err := i.EndCell(context.Background(), 3, pub); err != nil || strings.Contains(pub.Text("stdout"), "not after exit") {
		t.Errorf("after os.Exit: err %v, stdout %q", err, pub.Text("stdout"))
	}
	// A panic in a deferred call is the cell's error.
	if err := eval(3, `defer func() { var a []int; _ = a[1] }()`); err != nil {
		t.Fatal(err)
	}
	err := i.EndCell(context.Background(), 3, pub)
	var ke *protocol.Error
	if !errors.As(err, &ke) || ke.Name != "panic" || ke.Value != "runtime error: index out of range" {
		t.Errorf("panicking deferred call: err = %v", err)
	}
}

// TestStreamPieces checks that a large write is published in pieces that
// each hold whole characters, and together hold the write.
func TestStreamPieces(t *testing.T) {
	cur := &current{}
	pub := &kerneltest.Publisher{}
	cur.set(context.Background(), pub, 1)
	w := strings.Repeat("a", streamPiece-1) + "é" + strings.Repeat("b", 10)
	if _, err := (&stream{cur: cur, name: "stdout"}).Write([]byte(w)); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, o := range pub.Outputs() {
		if !utf8.ValidString(o.Text) || len(o.Text) > streamPiece {
			t.Errorf("a piece of %d bytes, valid UTF-8 %v", len(o.Text), utf8.ValidString(o.Text))
		}
		all.WriteString(o.Text)
	}
	if all.String() != w || len(pub.Outputs()) != 2 {
		t.Errorf("%d pieces holding %d bytes, want 2 holding %d", len(pub.Outputs()), all.Len(), len(w))
	}
}
