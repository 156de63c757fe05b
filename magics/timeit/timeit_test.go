package timeit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel"
	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
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

func (e *testEnv) env(pub kernel.Publisher) magics.Env {
	return magics.Env{
		Decls: []cell.Decl{
			{Kind: cell.FuncDecl, Name: "fib", Source: "func fib(n int) int {\n\tif n < 2 {\n\t\treturn n\n\t}\n\treturn fib(n-1) + fib(n-2)\n}", Cell: 1, Line: 1},
			{Kind: cell.VarDecl, Name: "words", Source: `var words = strings.Fields("the quick brown fox jumps over the lazy dog")`, Cell: 2, Line: 1},
		},
		Publisher: pub,
		Workspace: func() (*native.Workspace, error) { return e.ws, nil },
		SetVar: func(name string, v any) error {
			e.vars[name] = v
			return nil
		},
	}
}

func run(t *testing.T, e *testEnv, ctx context.Context, call magics.Call) (any, *kerneltest.Publisher, error) {
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

	t.Run("line mode with automatic loop count", func(t *testing.T) {
		start := time.Now()
		v, pub, err := run(t, e, ctx, magics.Call{Args: "x := 3*7"})
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
		t.Logf("%s (in %v)", text, time.Since(start))
	})

	t.Run("cell mode with setup, -o and -v", func(t *testing.T) {
		v, _, err := run(t, e, ctx, magics.Call{Cell: true, Args: "-n 50 -r 3 -o -v res s := make([]int, 1000)",
			Body: "sum := 0\nfor _, x := range s {\n\tsum += x + fib(5)\n}", BodyLine: 2})
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
	})

	t.Run("allocations are counted", func(t *testing.T) {
		v, _, err := run(t, e, ctx, magics.Call{Args: "-n 1000 -r 2 -o s := strings.Join(words, \" \")"})
		if err != nil {
			t.Fatal(err)
		}
		if r := v.(*Result); r.BytesPerOp < 40 || r.AllocsPerOp < 1 {
			t.Errorf("B/op %g, allocs/op %g", r.BytesPerOp, r.AllocsPerOp)
		}
	})

	t.Run("no allocation reads 0 B/op", func(t *testing.T) {
		v, _, err := run(t, e, ctx, magics.Call{Args: "-o -r 7 len(words) + fib(3)"})
		if err != nil {
			t.Fatal(err)
		}
		if r := v.(*Result); r.BytesPerOp != 0 || r.AllocsPerOp != 0 || r.Loops < 1000 {
			t.Errorf("B/op %g, allocs/op %g, %d loops", r.BytesPerOp, r.AllocsPerOp, r.Loops)
		}
	})

	t.Run("a millisecond body gets more than a few loops", func(t *testing.T) {
		v, _, err := run(t, e, ctx, magics.Call{Args: "-o -r 2 time.Sleep(time.Millisecond)"})
		if err != nil {
			t.Fatal(err)
		}
		if r := v.(*Result); r.Loops < 20 {
			t.Errorf("%d loops each for a 1 ms body", r.Loops)
		}
	})

	t.Run("quiet", func(t *testing.T) {
		v, pub, err := run(t, e, ctx, magics.Call{Args: "-q -o -n 10 -r 2 fib(10)"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pub.Displays()) != 0 || v == nil {
			t.Errorf("-q -o: %d displays, value %v", len(pub.Displays()), v)
		}
	})

	t.Run("comparison", func(t *testing.T) {
		v, pub, err := run(t, e, ctx, magics.Call{Cell: true, Args: "-n 200 -r 5 -o",
			Body: "slow: x := fib(18)\nfast: x := fib(8)", BodyLine: 2})
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
	})

	t.Run("user output is streamed", func(t *testing.T) {
		_, pub, err := run(t, e, ctx, magics.Call{Args: `-n 2 -r 1 fmt.Println("hello from the cell")`})
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

	errTests := []struct {
		name     string
		call     magics.Call
		timeout  time.Duration
		wantName string
		want     string
	}{
		{"compile error", magics.Call{Args: "undefinedThing + 1", Count: 8}, 0, "CompileError", "In[8]:1:9: undefined: undefinedThing"},
		{"panic", magics.Call{Args: `-n 1 -r 1 panic("boom")`}, 0, "panic", "the cell panicked: boom"},
		{"interrupt", magics.Call{Args: "for {}"}, 400 * time.Millisecond, "Interrupted", "interrupted"},
		{"runtime.Goexit", magics.Call{Args: "runtime.Goexit()"}, 0, "TimeitError", "produced no timing"},
		{"runtime.Goexit with -n", magics.Call{Args: "-n 3 -r 2 runtime.Goexit()"}, 0, "TimeitError", "produced no timing"},
		{"runtime.Goexit in the setup", magics.Call{Cell: true, Args: "runtime.Goexit()", Body: "x := 1", BodyLine: 2}, 0, "TimeitError", "produced no timing"},
		{"os.Exit(0)", magics.Call{Args: "os.Exit(0)"}, 0, "Exit", "os.Exit(0)"},
		{"os.Exit(3)", magics.Call{Args: "os.Exit(3)"}, 0, "Exit", "status 3"},
		{"empty cell body", magics.Call{Cell: true, Args: "x := 1", Body: "\n  \n// nothing\n", BodyLine: 2}, 0, "UsageError", "needs a statement"},
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
			_, _, err := run(t, e, ctx, tt.call)
			var ke *kernel.Error
			if !errors.As(err, &ke) || ke.Name != tt.wantName || !strings.Contains(ke.Value, tt.want) {
				t.Fatalf("got %#v, want %s with %q", err, tt.wantName, tt.want)
			}
			if tt.timeout > 0 && time.Since(start) > tt.timeout+time.Second {
				t.Errorf("returned %v after the interrupt", time.Since(start)-tt.timeout)
			}
		})
	}
}
