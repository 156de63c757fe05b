package session

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/cell"
)

// fakeEval stands in for the yaegi interpreter: it records the items it
// is given, fails an item whose source contains "fail", blocks on one
// containing "block" until the context ends, and gives an Expression the
// value listed in values.
type fakeEval struct {
	mu     sync.Mutex
	items  []cell.Item
	counts []int
	values map[string]any
	vars   map[string]any
	closed bool
	decls  func() []cell.Decl
	seen   [][]cell.Decl // what decls returned at each Eval
}

func (f *fakeEval) Eval(ctx context.Context, it cell.Item, count int, pub protocol.Publisher) (reflect.Value, bool, error) {
	f.mu.Lock()
	f.items = append(f.items, it)
	f.counts = append(f.counts, count)
	if f.decls != nil {
		f.seen = append(f.seen, f.decls())
	}
	f.mu.Unlock()
	switch {
	case strings.Contains(it.Source, "block"):
		<-ctx.Done()
		return reflect.Value{}, false, &protocol.Error{Name: "Interrupted", Value: "stopped"}
	case strings.Contains(it.Source, "fail"):
		return reflect.Value{}, false, &protocol.Error{Name: "panic", Value: fmt.Sprintf("In[%d]:%d: it failed", count, it.Line),
			Traceback: []string{"panic: it failed", fmt.Sprintf("In[%d]:%d", count, it.Line)}}
	case strings.Contains(it.Source, "plainerr"):
		return reflect.Value{}, false, fmt.Errorf("something odd")
	case strings.Contains(it.Source, "print"):
		pub.Stream("stdout", "printed\n")
	}
	if it.Kind == cell.Expression {
		if v, ok := f.values[strings.TrimSpace(it.Source)]; ok {
			return reflect.ValueOf(v), true, nil
		}
	}
	return reflect.Value{}, false, nil
}

func (f *fakeEval) SetVar(name string, value any) error {
	if f.vars == nil {
		f.vars = make(map[string]any)
	}
	f.vars[name] = value
	return nil
}

func (f *fakeEval) Close() error { f.closed = true; return nil }

// result is a magic's value with String and HTML methods.
type result struct{ n int }

func (r result) String() string { return fmt.Sprintf("%d loops", r.n) }
func (r result) HTML() string   { return fmt.Sprintf("<b>%d</b>", r.n) }

// fakeMagic records its calls and returns result{len(args)} with -o.
type fakeMagic struct {
	calls   []magics.Call
	envs    []magics.Env
	blocked chan struct{} // receives when "%timeit block" waits
}

func (m *fakeMagic) Name() string { return "timeit" }
func (m *fakeMagic) Doc() string  { return "time a statement" }
func (m *fakeMagic) Run(ctx context.Context, call magics.Call, env magics.Env) (any, error) {
	m.calls = append(m.calls, call)
	m.envs = append(m.envs, env)
	switch {
	case strings.Contains(call.Args, "-o"):
		return result{len(call.Args)}, nil
	case strings.Contains(call.Args, "-v"):
		return nil, env.SetVar("res", 42)
	case strings.Contains(call.Args, "crash"):
		panic("magic bug")
	case strings.Contains(call.Args, "block"):
		m.blocked <- struct{}{}
		<-ctx.Done()
		return nil, magics.NativeError(ctx, ctx.Err(), magics.NativeErrorOptions{Magic: "timeit"})
	case strings.Contains(call.Args, "bad"):
		return nil, fmt.Errorf("cannot time %q", call.Args)
	}
	return nil, nil
}

func newTest(t *testing.T) (*Session, *fakeEval, *fakeMagic) {
	t.Helper()
	fe := &fakeEval{values: map[string]any{
		"1 + 2 + 3":      6,
		"[]int{1, 4, 9}": []int{1, 4, 9},
		`"hi"`:           "hi",
		"x":              10,
		"r":              result{7},
	}}
	fm := &fakeMagic{blocked: make(chan struct{}, 1)}
	s := newSession(Options{Magics: magics.NewRegistry(fm), Version: "9.9"}, fe)
	fe.decls = s.Decls
	return s, fe, fm
}

func run(s *Session, count int, code string) protocol.ExecuteResult {
	return s.Execute(context.Background(), protocol.ExecuteRequest{Code: code, StoreHistory: true, ExecutionCount: count}, &kerneltest.Publisher{})
}

func TestInfo(t *testing.T) {
	s, _, _ := newTest(t)
	info := s.Info()
	l := info.Language
	if info.Implementation != "perfnb" || info.ImplementationVersion != "9.9" || l.Name != "go" ||
		l.Mimetype != "text/x-go" || l.FileExtension != ".go" || l.PygmentsLexer != "go" ||
		l.CodemirrorMode != "go" || l.NBConvertExporter != "script" || strings.HasPrefix(l.Version, "go") ||
		l.Version == "" || info.Banner == "" || len(info.HelpLinks) != 3 {
		t.Errorf("Info() = %+v", info)
	}
}

func TestExecuteValues(t *testing.T) {
	tests := []struct {
		code string
		want protocol.Bundle
	}{
		{"1 + 2 + 3", protocol.Bundle{"text/plain": "6"}},
		{"[]int{1, 4, 9}", protocol.Bundle{"text/plain": "[1 4 9]"}},
		{`"hi"`, protocol.Bundle{"text/plain": "hi"}},
		{"y := 2\nx", protocol.Bundle{"text/plain": "10"}},
		{"r", protocol.Bundle{"text/plain": "7 loops", "text/html": "<b>7</b>"}},
		{"x := 1", nil},
		{"fmt.Println(1)", nil},
		{"%timeit -o f()", protocol.Bundle{"text/plain": "6 loops", "text/html": "<b>6</b>"}},
		{"%timeit f()", nil},
		{"%timeit -o f()\nx := 1", nil},
	}
	for _, tt := range tests {
		s, _, _ := newTest(t)
		res := run(s, 1, tt.code)
		if res.Error != nil {
			t.Errorf("Execute(%q): error %v", tt.code, res.Error)
			continue
		}
		if !reflect.DeepEqual(res.Data, tt.want) {
			t.Errorf("Execute(%q).Data = %v, want %v", tt.code, res.Data, tt.want)
		}
	}
}

func TestExecuteStoresDeclsOfSuccessfulCells(t *testing.T) {
	s, fe, _ := newTest(t)
	res := run(s, 3, "import \"fmt\"\nfunc f() int { return 1 }\nx := f()\nfmt.Println(x)")
	if res.Error != nil {
		t.Fatalf("error: %v", res.Error)
	}
	got := s.Decls()
	if len(got) != 3 || got[0].Name != "fmt" || got[1].Name != "f" || got[2].Source != "var x = f()" {
		t.Fatalf("Decls() = %+v", got)
	}
	for _, d := range got {
		if d.Cell != 3 {
			t.Errorf("decl %s has Cell %d, want 3", d.Name, d.Cell)
		}
	}
	// The interpreter saw the cell's own earlier declarations while it ran.
	if n := len(fe.seen); n != 4 || len(fe.seen[0]) != 0 || len(fe.seen[2]) != 2 || len(fe.seen[3]) != 3 {
		t.Errorf("Decls during the cell: %+v", fe.seen)
	}
	for i, it := range fe.items {
		if fe.counts[i] != 3 {
			t.Errorf("item %d evaluated with count %d", i, fe.counts[i])
		}
		for _, d := range it.Decls {
			if d.Cell != 3 {
				t.Errorf("item %d decl %s has Cell %d", i, d.Name, d.Cell)
			}
		}
	}

	// A cell that fails while it runs keeps what ran before the failure
	// (g and y), as IPython does, and nothing after it (h).
	res = run(s, 4, "func g() {}\ny := 1\nfail()\nfunc h() {}")
	if res.Error == nil || res.Error.Name != "panic" || res.Error.Value != "In[4]:3: it failed" {
		t.Fatalf("failing cell: %+v", res.Error)
	}
	for name, want := range map[string]bool{"g": true, "y": true, "h": false} {
		if d, ok := s.Store().Lookup(name); ok != want || ok && d.Cell != 4 {
			t.Errorf("%s in the store after a failing cell: %+v, %v; want %v", name, d, ok, want)
		}
	}
	if n := len(fe.items); n != 4+3 {
		t.Errorf("%d items evaluated, want 7 (func h must not run)", n)
	}
}

func TestExecuteErrors(t *testing.T) {
	tests := []struct {
		code      string
		name      string
		value     string
		traceback []string
	}{
		{"x := 1\ny := (2 +", "SyntaxError", "In[7]:2:10: expected operand, found 'EOF'",
			[]string{"SyntaxError: In[7]:2:10: expected operand, found 'EOF'", "    y := (2 +", "             ^"}},
		{"x := 1\n}", "SyntaxError", "In[7]:2:1: unexpected }", nil},
		{"%nosuch 1", "UsageError", "Line magic function `%nosuch` not found.", nil},
		{"%%nosuch\nbody", "UsageError", "Cell magic `%%nosuch` not found.", nil},
		{"%timeit bad", "Error", `cannot time "bad"`, []string{`cannot time "bad"`}},
		{"plainerr()", "Error", "something odd", nil},
		{"%timeit crash", "panic", "magic bug", nil},
	}
	for _, tt := range tests {
		s, _, _ := newTest(t)
		res := run(s, 7, tt.code)
		e := res.Error
		if e == nil || e.Name != tt.name || e.Value != tt.value {
			t.Errorf("Execute(%q).Error = %+v, want %s: %s", tt.code, e, tt.name, tt.value)
			continue
		}
		if tt.traceback != nil && !reflect.DeepEqual(e.Traceback, tt.traceback) {
			t.Errorf("Execute(%q) traceback = %q, want %q", tt.code, e.Traceback, tt.traceback)
		}
		if len(e.Traceback) == 0 {
			t.Errorf("Execute(%q): empty traceback", tt.code)
		}
	}
}

// TestExecuteInterrupted checks that an interrupted cell's error is the
// one made where it stopped, with its words, and that nothing runs in a
// cell whose context is already done.
func TestExecuteInterrupted(t *testing.T) {
	tests := []struct {
		name, code, want string
	}{
		{"interpreter", "a := 1\nblock()\nb := 2", "stopped"},
		{"magic", "a := 1\n%timeit block", "the cell was interrupted; its child process was stopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, fe, fm := newTest(t)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan protocol.ExecuteResult)
			go func() {
				done <- s.Execute(ctx, protocol.ExecuteRequest{Code: tt.code, ExecutionCount: 2}, &kerneltest.Publisher{})
			}()
			for blocked := false; !blocked; {
				select {
				case <-fm.blocked:
					blocked = true
				default:
					fe.mu.Lock()
					blocked = len(fe.items) > 0 && strings.Contains(fe.items[len(fe.items)-1].Source, "block")
					fe.mu.Unlock()
				}
			}
			cancel()
			res := <-done
			if res.Error == nil || res.Error.Kind() != protocol.Interrupted || res.Error.Value != tt.want {
				t.Fatalf("Error = %+v, want Interrupted: %s", res.Error, tt.want)
			}
			// Already cancelled: nothing runs.
			res = s.Execute(ctx, protocol.ExecuteRequest{Code: "c := 3", ExecutionCount: 3}, &kerneltest.Publisher{})
			if res.Error == nil || res.Error.Kind() != protocol.Interrupted || res.Error.Value != interruptedValue {
				t.Fatalf("Error = %+v, want Interrupted: %s", res.Error, interruptedValue)
			}
		})
	}
}

func TestMagicCallAndEnv(t *testing.T) {
	s, fe, fm := newTest(t)
	run(s, 1, "func f() {}")
	res := run(s, 2, "x := 5\n%timeit -n10 f()\n%timeit -v\n")
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	c := fm.calls[0]
	if c.Name != "timeit" || c.Cell || c.Args != "-n10 f()" || c.Count != 2 || c.Line != 2 {
		t.Errorf("call = %+v", c)
	}
	// The magic sees f from cell 1 and x from this cell's first item.
	var names []string
	for _, d := range fm.envs[0].Decls {
		names = append(names, d.Name)
	}
	if !reflect.DeepEqual(names, []string{"f", "x"}) {
		t.Errorf("env.Decls names = %q", names)
	}
	if fm.envs[0].Publisher == nil || fm.envs[0].Workspace == nil {
		t.Errorf("env lacks publisher or workspace")
	}
	if fe.vars["res"] != 42 {
		t.Errorf("SetVar did not reach the interpreter: %v", fe.vars)
	}

	res = run(s, 3, "%%timeit -r3 setup()\nbody()\nmore()")
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	c = fm.calls[2]
	if !c.Cell || c.Args != "-r3 setup()" || c.Body != "body()\nmore()" || c.BodyLine != 2 || c.Count != 3 {
		t.Errorf("cell call = %+v", c)
	}
}

func TestHelpPayload(t *testing.T) {
	s, _, _ := newTest(t)
	run(s, 1, "// Twice doubles.\nfunc Twice(n int) int { return 2 * n }")
	tests := []struct {
		code string
		want string
	}{
		{"fmt.Println?", "func Println(a ...any) (n int, err error)"},
		{"Twice?", "declared in In[1]"},
		{"%timeit?", "time a statement"},
		{"nosuchthing?", "Object `nosuchthing` not found."},
	}
	for _, tt := range tests {
		res := run(s, 2, tt.code)
		if res.Error != nil || len(res.Payload) != 1 {
			t.Errorf("Execute(%q) = %+v", tt.code, res)
			continue
		}
		p := res.Payload[0]
		data, _ := p["data"].(map[string]any)
		text, _ := data["text/plain"].(string)
		if p["source"] != "page" || p["start"] != 0 || !strings.Contains(text, tt.want) {
			t.Errorf("Execute(%q) payload = %v, want text containing %q", tt.code, p, tt.want)
		}
	}
}

func TestUserExpressions(t *testing.T) {
	s, _, _ := newTest(t)
	res := s.Execute(context.Background(), protocol.ExecuteRequest{
		Code:            "y := 1",
		ExecutionCount:  1,
		UserExpressions: map[string]string{"a": "x", "b": "fail()", "c": "1 +"},
	}, &kerneltest.Publisher{})
	ue := res.UserExpressions
	a, _ := ue["a"].(map[string]any)
	if a["status"] != "ok" || !reflect.DeepEqual(a["data"], protocol.Bundle{"text/plain": "10"}) {
		t.Errorf("a = %v", a)
	}
	b, _ := ue["b"].(map[string]any)
	if b["status"] != "error" || b["ename"] != "panic" {
		t.Errorf("b = %v", b)
	}
	c, _ := ue["c"].(map[string]any)
	if c["status"] != "error" || c["ename"] != "SyntaxError" {
		t.Errorf("c = %v", c)
	}
}

func TestIsComplete(t *testing.T) {
	s, _, _ := newTest(t)
	for code, want := range map[string]protocol.Completeness{
		"x := 1":      {Status: "complete"},
		"func f() {":  {Status: "incomplete", Indent: "    "},
		"%timeit f(":  {Status: "complete"},
		"x := 1\n)":   {Status: "invalid"},
		"fmt.Printf?": {Status: "complete"},
	} {
		if got := s.IsComplete(code); got != want {
			t.Errorf("IsComplete(%q) = %+v, want %+v", code, got, want)
		}
	}
}

func TestShutdown(t *testing.T) {
	s, fe, _ := newTest(t)
	if err := s.Shutdown(false); err != nil {
		t.Fatal(err)
	}
	if !fe.closed {
		t.Error("the interpreter was not closed")
	}
}

func TestShutdownRemovesWorkspace(t *testing.T) {
	s, _, _ := newTest(t)
	s.opts.TempDir = t.TempDir()
	w, err := s.Workspace()
	if err != nil {
		t.Fatal(err)
	}
	if w2, _ := s.Workspace(); w2 != w {
		t.Errorf("Workspace() made a second workspace")
	}
	dir := w.Dir()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("workspace directory: %v", err)
	}
	if err := s.Shutdown(false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("workspace %s still there after Shutdown (%v)", dir, err)
	}
}

// TestWorkspaceFailureIsNotKept checks that a workspace that could not be
// created is tried again by the next magic, not failed for good.
func TestWorkspaceFailureIsNotKept(t *testing.T) {
	s, _, _ := newTest(t)
	s.opts.TempDir = filepath.Join(t.TempDir(), "not-yet")
	if _, err := s.Workspace(); err == nil {
		t.Fatal("a workspace was created in a missing directory")
	}
	if err := os.Mkdir(s.opts.TempDir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := s.Workspace()
	if err != nil {
		t.Fatalf("after the cause was removed: %v", err)
	}
	t.Cleanup(func() { w.Close() })
}
