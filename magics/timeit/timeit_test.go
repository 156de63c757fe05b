package timeit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/native"
)

// testEnv is an Env with a real workspace shared by the tests.
type testEnv struct {
	ws   *native.Workspace
	vars map[string]any
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return &testEnv{ws: magicstest.Workspace(t), vars: map[string]any{}}
}

func (e *testEnv) env(pub protocol.Publisher) magics.Env {
	return magics.Env{
		Decls: []cell.Decl{
			{Kind: cell.FuncDecl, Name: "fib", Source: "func fib(n int) int {\n\tif n < 2 {\n\t\treturn n\n\t}\n\treturn fib(n-1) + fib(n-2)\n}", Cell: 1, Line: 1},
			{Kind: cell.VarDecl, Name: "words", Source: `var words = strings.Fields("the quick brown fox jumps over the lazy dog")`, Cell: 2, Line: 1},
		},
		Publisher: pub,
		Version:   "test-version",
		Workspace: func() (*native.Workspace, error) { return e.ws, nil },
		SetVar: func(name string, v any) error {
			e.vars[name] = v
			return nil
		},
	}
}

func runTimeit(t *testing.T, e *testEnv, ctx context.Context, call magics.Call) (any, *kerneltest.Publisher, error) {
	t.Helper()
	pub := &kerneltest.Publisher{}
	call.Name = "timeit"
	if call.Count == 0 {
		call.Count = 5
	}
	if call.Line == 0 {
		call.Line = 1
	}
	v, err := New().Run(ctx, call, e.env(pub))
	return v, pub, err
}

func TestTimeitEndToEnd(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()

	t.Run("line mode with automatic loop count", func(t *testing.T) { testLineMode(t, e, ctx) })

	t.Run("-c measures CPU time", func(t *testing.T) { testCPUClock(t, e, ctx) })

	t.Run("cell mode with setup, -o and -v", func(t *testing.T) { testCellMode(t, e, ctx) })

	t.Run("allocations are counted", func(t *testing.T) {
		v, _, err := runTimeit(t, e, ctx, magics.Call{Magic: cell.Magic{Args: "-n 1000 -r 2 -o s := strings.Join(words, \" \")"}})
		if err != nil {
			t.Fatal(err)
		}
		if r := v.(*Result); r.BytesPerOp < 40 || r.AllocsPerOp < 1 {
			t.Errorf("B/op %g, allocs/op %g", r.BytesPerOp, r.AllocsPerOp)
		}
	})

	t.Run("quiet", func(t *testing.T) {
		v, pub, err := runTimeit(t, e, ctx, magics.Call{Magic: cell.Magic{Args: "-q -o -n 10 -r 2 fib(10)"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(pub.Displays()) != 0 || v == nil {
			t.Errorf("-q -o: %d displays, value %v", len(pub.Displays()), v)
		}
	})

	t.Run("comparison", func(t *testing.T) { testComparison(t, e, ctx) })

	t.Run("user output is streamed", func(t *testing.T) {
		_, pub, err := runTimeit(t, e, ctx, magics.Call{Magic: cell.Magic{Args: `-n 2 -r 1 fmt.Println("hello from the cell")`}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(pub.Text("stdout"), "hello from the cell") {
			t.Errorf("stdout %q", pub.Text("stdout"))
		}
		if text := pub.Displays()[0]["text/plain"].(string); strings.Contains(text, "hello") {
			t.Errorf("user output in the result: %q", text)
		}
	})

	testTimeitErrors(t, e)
}

// testLineMode times a statement in line mode, where the loop count is
// calibrated, and checks the display: text, table, record and environment.
func testLineMode(t *testing.T, e *testEnv, ctx context.Context) {
	start := time.Now()
	v, pub, err := runTimeit(t, e, ctx, magics.Call{Magic: cell.Magic{Args: "x := 3*7"}})
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		t.Errorf("value %v without -o", v)
	}
	if len(pub.Displays()) != 1 {
		t.Fatalf("%d displays, want 1", len(pub.Displays()))
	}
	text := pub.Displays()[0]["text/plain"].(string)
	if !strings.Contains(text, " per loop (mean ± std. dev. of 7 runs, ") || !strings.HasSuffix(text, " loops each)") {
		t.Errorf("text/plain %q", text)
	}
	html := pub.Displays()[0]["text/html"].(string)
	for _, want := range []string{"<table", "median [95% CI]", "B/op", "allocs/op", "build time"} {
		if !strings.Contains(html, want) {
			t.Errorf("text/html lacks %q", want)
		}
	}
	rec, ok := pub.Displays()[0][record.MIMEType].(*record.Record)
	if !ok {
		t.Fatalf("no record in the bundle: %v", pub.Displays()[0])
	}
	if rec.Magic != "timeit" || rec.Source != "%timeit x := 3*7" || rec.Cell != 5 || rec.Clock != "wall" || len(rec.Results) != 1 {
		t.Errorf("record %+v", rec)
	}
	if v, ok := rec.Results[0].Metric("sec/op"); !ok || len(v) != 7 {
		t.Errorf("record's sec/op %v", v)
	}
	if env := rec.Environment; env.Go == "" || env.GOMAXPROCS < 1 || env.Perfnb != "test-version" {
		t.Errorf("environment %+v", env)
	}
	if html := strings.ReplaceAll(html, "\u00a0", " "); !strings.Contains(html, rec.Environment.Footer()) || !strings.Contains(html, "wall-clock time") {
		t.Errorf("text/html lacks the environment footer or the clock:\n%s", html)
	}
	t.Logf("%s (in %v)", text, time.Since(start))
}

// testCPUClock checks that -c times with the process's CPU clock.
func testCPUClock(t *testing.T, e *testEnv, ctx context.Context) {
	// A sleep takes wall-clock time but hardly any CPU time.
	v, pub, err := runTimeit(t, e, ctx, magics.Call{Magic: cell.Magic{Args: "-c -n 5 -r 3 -o time.Sleep(2 * time.Millisecond)"}})
	if err != nil {
		t.Fatal(err)
	}
	r := v.(*Result)
	if r.Clock != "cpu" || r.Average <= 0 || r.Average > 1e-3 {
		t.Errorf("-c of a 2 ms sleep: clock %q, mean %g s", r.Clock, r.Average)
	}
	rec := pub.Displays()[0][record.MIMEType].(*record.Record)
	if _, ok := rec.Results[0].Metric("cpu-sec/op"); !ok || rec.Clock != "cpu" {
		t.Errorf("record %+v", rec)
	}
	if html := strings.ReplaceAll(pub.Displays()[0]["text/html"].(string), "\u00a0", " "); !strings.Contains(html, "CPU time of the process (-c)") {
		t.Errorf("the table does not name the CPU clock:\n%s", html)
	}
	if out := pub.Text("stdout") + pub.Text("stderr"); out != "" {
		t.Errorf("printed %q", out)
	}
}

// testCellMode times a cell body after its setup and checks the *Result
// that -o returns and -v stores.
func testCellMode(t *testing.T, e *testEnv, ctx context.Context) {
	v, _, err := runTimeit(t, e, ctx, magics.Call{Magic: cell.Magic{Cell: true, Args: "-n 50 -r 3 -o -v res s := make([]int, 1000)", Body: "sum := 0\nfor _, x := range s {\n\tsum += x + fib(5)\n}", BodyLine: 2}})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := v.(*Result)
	if !ok {
		t.Fatalf("value %T, want *Result", v)
	}
	if r.Loops != 50 || r.Repeat != 3 || len(r.Timings) != 3 || len(r.AllRuns) != 3 {
		t.Errorf("result %+v", r)
	}
	if !(r.Best > 0 && r.Best <= r.Average && r.Average <= r.Worst) || r.CompileTime <= 0 {
		t.Errorf("result %+v", r)
	}
	if !strings.HasPrefix(r.String(), "<TimeitResult : ") || !strings.Contains(r.String(), "of 3 runs, 50 loops each)>") {
		t.Errorf("String() = %q", r.String())
	}
	if e.vars["res"] != v {
		t.Errorf("-v res stored %v", e.vars["res"])
	}
}

// testComparison times two labelled variants and checks that they are
// compared, the fastest first.
func testComparison(t *testing.T, e *testEnv, ctx context.Context) {
	v, pub, err := runTimeit(t, e, ctx, magics.Call{Magic: cell.Magic{Cell: true, Args: "-n 200 -r 5 -o", Body: "slow: x := fib(18)\nfast: x := fib(8)", BodyLine: 2}})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := v.(*Comparison)
	if !ok || len(c.Variants) != 2 {
		t.Fatalf("value %#v", v)
	}
	if c.Variants[0].Label != "fast" || c.Variants[1].Label != "slow" || c.Variants[0].Repeat != 5 {
		t.Errorf("variants %s, %s (want fastest first)", c.Variants[0], c.Variants[1])
	}
	text := pub.Displays()[0]["text/plain"].(string)
	html := pub.Displays()[0]["text/html"].(string)
	for _, want := range []string{"fast: ", "slow: ", "slower than fast", "p="} {
		if !strings.Contains(text, want) {
			t.Errorf("text/plain lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(html, "×") || !strings.Contains(html, "fastest") {
		t.Errorf("text/html lacks the ratio:\n%s", html)
	}
	t.Log("\n" + text)
}

// testTimeitErrors checks the error each failing call gives, and that an
// interrupt is prompt.
func testTimeitErrors(t *testing.T, e *testEnv) {
	errTests := []struct {
		name     string
		call     magics.Call
		timeout  time.Duration
		wantName string
		want     string
	}{
		{"compile error", magicstest.Call(t, 8, "%timeit undefinedThing + 1"), 0, "CompileError", "In[8]:1:9: undefined: undefinedThing"},
		{"compile error after spaces", magicstest.Call(t, 8, "%timeit   undefinedThing + 1"), 0, "CompileError", "In[8]:1:11: undefined: undefinedThing"},
		{"compile error in an indented magic", magicstest.Call(t, 9, "x := 1\n  %timeit -n 3 undefinedThing + 1"), 0, "CompileError", "In[9]:2:16: undefined: undefinedThing"},
		{"panic", magics.Call{Magic: cell.Magic{Args: `-n 1 -r 1 panic("boom")`}}, 0, "panic", "the cell panicked: boom"},
		{"interrupt", magics.Call{Magic: cell.Magic{Args: "for {}"}}, 400 * time.Millisecond, "Interrupted", "interrupted"},
		{"runtime.Goexit", magicstest.Call(t, 5, "%timeit runtime.Goexit()"), 0, "TimeitError", "produced no timing"},
		{"runtime.Goexit with -n", magicstest.Call(t, 5, "%timeit -n 3 -r 2 runtime.Goexit()"), 0, "TimeitError", "produced no timing"},
		{"runtime.Goexit in the setup", magicstest.Call(t, 5, "%%timeit runtime.Goexit()\nx := 1"), 0, "TimeitError", "produced no timing"},
		{"os.Exit(0)", magicstest.Call(t, 5, "%timeit os.Exit(0)"), 0, "Exit", "os.Exit(0)"},
		{"os.Exit(3)", magicstest.Call(t, 5, "%timeit os.Exit(3)"), 0, "Exit", "status 3"},
		{"empty cell body", magicstest.Call(t, 5, "%%timeit x := 1\n  \n// nothing\n"), 0, "UsageError", "needs a statement"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			_, _, err := runTimeit(t, e, ctx, tt.call)
			var ke *protocol.Error
			if !errors.As(err, &ke) || ke.Name != tt.wantName || !strings.Contains(ke.Value, tt.want) {
				t.Fatalf("got %#v, want %s with %q", err, tt.wantName, tt.want)
			}
			if tt.timeout > 0 && time.Since(start) > tt.timeout+time.Second {
				t.Errorf("returned %v after the interrupt", time.Since(start)-tt.timeout)
			}
		})
	}
}

// TestTimeitHarness checks what the in-process calibration and runs give:
// go test's B/op (0 for a body that allocates nothing) and enough loops
// for a millisecond body.
func TestTimeitHarness(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	t.Run("no allocation reads 0 B/op", func(t *testing.T) {
		v, _, err := runTimeit(t, e, ctx, magics.Call{Magic: cell.Magic{Args: "-o -r 7 len(words) + fib(3)"}})
		if err != nil {
			t.Fatal(err)
		}
		if r := v.(*Result); r.BytesPerOp != 0 || r.AllocsPerOp != 0 || r.Loops < 1000 {
			t.Errorf("B/op %g, allocs/op %g, %d loops", r.BytesPerOp, r.AllocsPerOp, r.Loops)
		}
	})

	t.Run("a millisecond body gets more than a few loops", func(t *testing.T) {
		v, _, err := runTimeit(t, e, ctx, magics.Call{Magic: cell.Magic{Args: "-o -r 2 time.Sleep(time.Millisecond)"}})
		if err != nil {
			t.Fatal(err)
		}
		if r := v.(*Result); r.Loops < 20 {
			t.Errorf("%d loops each for a 1 ms body", r.Loops)
		}
	})

}
