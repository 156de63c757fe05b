package session

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
)

// TestWithInterpreter runs cells through the real yaegi interpreter.
func TestWithInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the interpreter")
	}
	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	tests := []struct {
		code   string
		plain  string // text/plain of the value; "" for none
		stdout string
		errVal string // a part of the error's value; "" for success
	}{
		{"1 + 2 + 3", "6", "", ""},
		{"[]int{1, 4, 9}", "[1 4 9]", "", ""},
		{"fmt.Println(\"hello, world\")", "", "hello, world\n", ""},
		{"import \"strings\"\ntype T struct{ S string }\nfunc (t T) Up() string { return strings.ToUpper(t.S) }\nt := T{\"go\"}\nfmt.Println(t.Up())\nt.Up()", "GO", "GO\n", ""},
		{"func (t T) Up() string { return \"redefined \" + t.S }\nt.Up()", "redefined go", "", ""},
		{"x := 1\n%nosuch", "", "", "`%nosuch` not found"},
		{"y := 2\nundefinedThing()", "", "", "In[7]:2:1: undefined: undefinedThing"},
		{"y", "", "", "In[8]:1:1: undefined: y"}, // a cell that does not compile defines nothing
		{"zzz", "", "", "undefined"},
		{"x8 := 5\npanic(\"p\")", "", "", "p"},
		{"x8", "5", "", ""}, // ran before the panic: kept, in the store too

		// A defer at the cell's top level runs when the cell ends, once.
		{"defer fmt.Println(\"deferred\")\nfmt.Println(\"body\")", "", "body\ndeferred\n", ""}, // two writes
		{"fmt.Println(\"next\")", "", "next\n", ""},
		{"defer panic(\"in defer\")\nq := 1", "", "", "in defer"},

		// A value of a type the notebook gives a String or Error method
		// shows as fmt shows it; a loop's deferred calls get the
		// arguments of their iteration.
		{"type Pt struct{ X, Y int }\nfunc (p Pt) String() string { return fmt.Sprintf(\"(%d,%d)\", p.X, p.Y) }\nPt{1, 2}", "(1,2)", "", ""},
		{"&Pt{3, 4}", "(3,4)", "", ""},
		{"var noPt *Pt\nnoPt", "<nil>", "", ""},
		{"type Code int\nfunc (c Code) Error() string { return fmt.Sprint(\"code \", int(c)) }\nCode(7)", "code 7", "", ""},
		{"type Boom struct{}\nfunc (Boom) String() string { panic(\"boom\") }\nBoom{}", "%!v(PANIC=String method: boom)", "", ""},
		{"for k := range 3 { defer fmt.Print(k, \" \") }", "", "2 1 0 ", ""},
	}
	for i, tt := range tests {
		pub := &kerneltest.Publisher{}
		res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: tt.code, StoreHistory: true, ExecutionCount: i + 1}, pub)
		if tt.errVal != "" {
			if res.Error == nil || !strings.Contains(res.Error.Value, tt.errVal) {
				t.Errorf("In[%d] %q: error %+v, want one containing %q", i+1, tt.code, res.Error, tt.errVal)
			}
			continue
		}
		if res.Error != nil {
			t.Errorf("In[%d] %q: error %+v", i+1, tt.code, res.Error)
			continue
		}
		got, _ := res.Data["text/plain"].(string)
		if got != tt.plain {
			t.Errorf("In[%d] %q: value %q, want %q", i+1, tt.code, got, tt.plain)
		}
		if out, errOut := pub.Text("stdout"), pub.Text("stderr"); tt.stdout != "" && (out != tt.stdout || errOut != "") {
			t.Errorf("In[%d] %q: stdout %q, stderr %q, want stdout %q", i+1, tt.code, out, errOut, tt.stdout)
		}
	}
	if d, ok := s.Store().Lookup("T.Up"); !ok || d.Cell != 5 {
		t.Errorf("T.Up in the store: %+v, %v; want it from In[5]", d, ok)
	}
	if d, ok := s.Store().Lookup("x"); !ok || d.Cell != 6 {
		t.Errorf("x, which ran before the failing magic of In[6], is not stored: %+v, %v", d, ok)
	}
	if in := s.Inspect("t.Up()", 1, 0); !in.Found || !strings.Contains(in.Data["text/plain"].(string), "var t = T{\"go\"}") {
		t.Errorf("Inspect(t) = %+v", in)
	}
}

// TestOneProgram runs notebooks through the real type checker and
// interpreter: invalid Go is rejected with the compiler's message at the
// cell's position and defines nothing; valid Go that yaegi mishandles
// runs, or fails as a named limit of the interpreter, keeping the kernel
// and the definitions.
func TestOneProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the interpreter")
	}
	type step struct {
		code  string
		plain string // text/plain of the value
		err   string // "Name: part of the value"; "" for success
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"two results to one variable", []step{
			{`f := os.Open("/nonexistent")`, "", "CompileError: In[1]:1:6: assignment mismatch: 1 variable but os.Open returns 2 values"},
			{`f`, "", "CompileError: In[2]:1:1: undefined: f"},
		}},
		{"atoi", []step{{`n := strconv.Atoi("12")`, "", "CompileError: In[1]:1:6: assignment mismatch: 1 variable but strconv.Atoi returns 2 values"}}},
		{"return type", []step{
			{"func f(n int) int64 {\n\treturn n\n}", "", "CompileError: In[1]:2:9: cannot use n (variable of type int) as int64 value in return statement"},
			{"f(3)", "", "CompileError: In[2]:1:1: undefined: f"},
		}},
		{"failed func leaves nothing half-made", []step{
			{"func g(n int) int { return n * 2 }", "", ""},
			{"func g(n int) int { xs := []int{}; return xs[0] + undefinedThing }", "", "CompileError: In[2]:1:51: undefined: undefinedThing"},
			{"g(3)", "6", ""},
		}},
		{"unused variable in a loop", []step{{"for i := range 3 {\n\tv := i\n}", "", "CompileError: In[1]:2:2: declared and not used: v"}}},
		{"var from :=", []step{{"a := 5", "", ""}, {"var b = a", "", ""}, {"b", "5", ""}}},
		{"bitset", []step{
			{"type bitset []uint64\nfunc (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }", "", ""},
			{"bs := bitset{5}\nbs.has(2)", "true", ""},
			{"bs.has(1)", "false", ""},
		}},
		{"mutual recursion", []step{{"func isEven(n int) bool { if n == 0 { return true }; return isOdd(n - 1) }\nfunc isOdd(n int) bool { if n == 0 { return false }; return isEven(n - 1) }\nisEven(10)", "true", ""}}},
		{"type changed and restored", []step{
			{"type Order struct{ ID int }", "", ""},
			{"func appendOrders(o []Order, n int) []Order { for i := range n { o = append(o, Order{i}) }; return o }", "", ""},
			{"type Order struct{ ID int; Name string }", "", ""},
			{"appendOrders(nil, 1)", "", "CompileError: In[4]:1:1: appendOrders no longer compiles: In[2]:1:87: too few values in struct literal of type Order"},
			{"type Order struct{ ID int }", "", ""},
			{"len(appendOrders(nil, 3))", "3", ""},
		}},
		{"panic keeps what ran", []step{{"x8 := 5; panic(\"p\")", "", "panic: p"}, {"x8", "5", ""}}},
		{"builtins of Go 1.21", []step{
			{"k := 1", "", ""},
			{"min(3, 1, 2)", "1", ""},
			{"max(k, 7) + int(min(int8(k), 3, -2))", "5", ""},
			{"type celsius float64\nmax(celsius(k), 2.5, celsius(math.NaN()))", "NaN", ""},
			{"m := map[int]int{1: 1}\nclear(m)", "", ""},
			{"len(m)", "0", ""},
			{"func clamp(x int) int { return min(x, 10) }", "", ""},
			{"clamp(50) + clamp(3)", "13", ""}, // the store keeps clamp as written
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{Version: "test"})
			defer s.Shutdown(false)
			for k, st := range tc.steps {
				res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: st.code, StoreHistory: true, ExecutionCount: k + 1}, &kerneltest.Publisher{})
				if st.err != "" {
					if res.Error == nil || !strings.Contains(res.Error.Name+": "+res.Error.Value, st.err) {
						t.Errorf("In[%d] %q: error %+v, want %q", k+1, st.code, res.Error, st.err)
					}
					continue
				}
				if res.Error != nil {
					t.Errorf("In[%d] %q: %s: %s", k+1, st.code, res.Error.Name, res.Error.Value)
					continue
				}
				if got, _ := res.Data["text/plain"].(string); got != st.plain {
					t.Errorf("In[%d] %q = %q, want %q", k+1, st.code, got, st.plain)
				}
			}
		})
	}
}

// TestCheckAfterMagic checks Go items that follow a magic once the magic
// has run, so that they may use what it defined.
func TestCheckAfterMagic(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the interpreter")
	}
	s := New(Options{Version: "test", Magics: magics.NewRegistry(setVarMagic{})})
	defer s.Shutdown(false)
	for k, c := range []struct{ code, plain, err string }{
		{"a := 1\n%setvar\nv + a", "42", ""},
		{"%setvar\nb := v +\n\"x\"", "", "CompileError: In[2]:2:6: invalid operation: v + \"x\" (mismatched types int and untyped string)"},
		{"v", "41", ""},
	} {
		res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: c.code, ExecutionCount: k + 1}, &kerneltest.Publisher{})
		if c.err != "" {
			if res.Error == nil || !strings.Contains(res.Error.Name+": "+res.Error.Value, c.err) {
				t.Errorf("In[%d]: error %+v, want %q", k+1, res.Error, c.err)
			}
			continue
		}
		if res.Error != nil {
			t.Errorf("In[%d]: %s: %s", k+1, res.Error.Name, res.Error.Value)
			continue
		}
		if got, _ := res.Data["text/plain"].(string); got != c.plain {
			t.Errorf("In[%d] = %q, want %q", k+1, got, c.plain)
		}
	}
}

// setVarMagic defines v = 41 through Env.SetVar, as %timeit -v does.
type setVarMagic struct{}

func (setVarMagic) Name() string { return "setvar" }

func (setVarMagic) Doc() string { return "defines v" }

func (setVarMagic) Run(_ context.Context, _ magics.Call, env magics.Env) (any, error) {
	return nil, env.SetVar("v", 41)
}

// BenchmarkExecuteTrivial measures a trivial cell (`_ = 1`) through the
// session and the real interpreter, in notebooks of 0, 100 and 1,000
// one-line function cells, with and without the type check: a cell's cost
// must not grow with the notebook, and the memory the interpreter process
// keeps per cell (heap-B/cell) must stay small.
func BenchmarkExecuteTrivial(b *testing.B) {
	for _, decls := range []int{0, 100, 1000} {
		for _, checked := range []bool{true, false} {
			b.Run(fmt.Sprintf("decls=%d/checked=%v", decls, checked), func(b *testing.B) {
				s := New(Options{Version: "test"})
				defer s.Shutdown(false)
				s.checkCells = checked
				for k := range decls {
					mustRun(b, s, fmt.Sprintf("func f%d(n int) int { return n * %d }", k, k), k+1)
				}
				for k := range 100 { // past the first cells' one-time costs
					mustRun(b, s, "_ = 1", decls+1+k)
				}
				base := heapInUse()
				b.ResetTimer()
				for k := 0; k < b.N; k++ {
					mustRun(b, s, "_ = 1", decls+101+k)
				}
				b.StopTimer()
				b.ReportMetric(float64(heapInUse()-base)/float64(b.N), "heap-B/cell")
			})
		}
	}
}

// BenchmarkExecuteDeclaring measures a cell that declares a small
// variable, after 0, 300 and 1,000 such cells, and reports the
// interpreter process's heap per variable held (heap-B/var): both must
// follow what the notebook holds, not how many cells it ran.
func BenchmarkExecuteDeclaring(b *testing.B) {
	for _, vars := range []int{0, 300, 1000} {
		b.Run(fmt.Sprintf("vars=%d", vars), func(b *testing.B) {
			s := New(Options{Version: "test"})
			defer s.Shutdown(false)
			base := heapInUse()
			for k := range vars {
				mustRun(b, s, fmt.Sprintf("v%d := []int{%d, %d, %d}", k, k, k+1, k+2), k+1)
				s.SaveValues()
			}
			perVar := float64(heapInUse()-base) / float64(max(vars, 1))
			b.ResetTimer()
			for k := 0; k < b.N; k++ {
				mustRun(b, s, fmt.Sprintf("w := []int{%d, 1, 2}", k), vars+1+k)
				s.SaveValues()
			}
			if vars > 0 {
				b.ReportMetric(perVar, "heap-B/var")
			}
		})
	}
}

// BenchmarkExecuteAfterBigMap measures a trivial cell in a notebook that
// holds a map of 1e6 entries: saving the values after a cell must cost
// what the cell changed.
func BenchmarkExecuteAfterBigMap(b *testing.B) {
	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	mustRun(b, s, "big := map[string]int{}\nfor i := range 1000000 { big[fmt.Sprint(\"key-\", i)] = i }", 1)
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		mustRun(b, s, "_ = 1", 2+k)
		s.SaveValues()
	}
}

// mustRun executes code as cell count, failing the benchmark on an error.
func mustRun(b testing.TB, s *Session, code string, count int) {
	b.Helper()
	res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: code, ExecutionCount: count}, &kerneltest.Publisher{})
	if res.Error != nil {
		b.Fatal(res.Error)
	}
}

// heapInUse is the heap in use after a collection, in bytes.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}
