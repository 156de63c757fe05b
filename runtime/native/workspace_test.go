package native

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/runtime/cell"
)

func newTestWorkspace(t testing.TB) *Workspace {
	t.Helper()
	if testing.Short() {
		t.Skip("builds with the Go toolchain")
	}
	w, err := NewWorkspace(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(w.Dir()); !os.IsNotExist(err) {
			t.Errorf("workspace %s still exists after Close", w.Dir())
		}
	})
	return w
}

func buildBody(t *testing.T, w *Workspace, decls []cell.Decl, setup, body string) *Binary {
	t.Helper()
	bin, err := w.Build(context.Background(), Program{Decls: decls, Benchmarks: []Benchmark{{
		Name:  "Cell",
		Setup: Snippet{Source: setup, Cell: 3, Line: 1},
		Body:  Snippet{Source: body, Cell: 3, Line: 2},
	}}})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return bin
}

var benchArgs = []string{"-test.run=^$", "-test.bench=^BenchmarkCell$", "-test.benchtime=100x", "-test.benchmem"}

func TestWorkspaceLayout(t *testing.T) {
	w := newTestWorkspace(t)
	for _, f := range []string{"go.mod", "harness/child_stdout.go", "display/display.go"} {
		if _, err := os.Stat(filepath.Join(w.Dir(), f)); err != nil {
			t.Errorf("workspace lacks %s: %v", f, err)
		}
	}
	mod, _ := os.ReadFile(filepath.Join(w.Dir(), "go.mod"))
	if !strings.HasPrefix(string(mod), "module perfnbcell\n\ngo 1.") {
		t.Errorf("go.mod is %q", mod)
	}
}

func TestBuildAndRun(t *testing.T) {
	w := newTestWorkspace(t)
	decls := []cell.Decl{
		{Kind: cell.FuncDecl, Name: "fib", Source: "func fib(n int) int {\n\tif n < 2 {\n\t\treturn n\n\t}\n\treturn fib(n-1) + fib(n-2)\n}", Cell: 1, Line: 1},
		{Kind: cell.FuncDecl, Name: "show", Source: `func show() { display.HTML("<b>x</b>") }`, Cell: 2, Line: 1},
	}
	bin := buildBody(t, w, decls, `n := 10; fmt.Println("setup ran")`, "fib(n)\nn*2\nshow()")
	if bin.BuildTime <= 0 {
		t.Errorf("BuildTime = %v", bin.BuildTime)
	}
	var out bytes.Buffer
	res, err := w.Run(context.Background(), bin, RunOptions{Args: benchArgs, Output: &out})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !bytes.Contains(res.Bench, []byte("BenchmarkCell")) || !bytes.Contains(res.Bench, []byte("ns/op")) {
		t.Errorf("no benchmark line in %q", res.Bench)
	}
	if bytes.Contains(res.Bench, []byte("setup ran")) {
		t.Errorf("user output mixed into benchmark lines: %q", res.Bench)
	}
	if !strings.Contains(out.String(), "setup ran") {
		t.Errorf("user output %q lacks the setup's line", out.String())
	}
	if res.PeakRSS <= 0 {
		t.Errorf("PeakRSS = %d", res.PeakRSS)
	}
}

func TestBuildFailures(t *testing.T) {
	w := newTestWorkspace(t)
	tests := []struct {
		name, body string
		want       string
	}{
		{"undefined name", "y := undefinedThing + 1", "In[3]:2:6: undefined: undefinedThing"},
		{"type error on a later line", "x := 1\nx = \"s\"", "In[3]:3:5: cannot use \"s\""},
		{"syntax error", "x := (1", "In[3]:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.Build(context.Background(), Program{Benchmarks: []Benchmark{{Name: "Cell", Body: Snippet{Source: tt.body, Cell: 3, Line: 2}}}})
			var e *Error
			if !errors.As(err, &e) || e.Kind != CompileFailed {
				t.Fatalf("got %v, want a compile error", err)
			}
			if !strings.Contains(e.Error(), tt.want) {
				t.Errorf("error %q lacks %q", e.Error(), tt.want)
			}
			if strings.Contains(e.Error(), "# perfnbcell") {
				t.Errorf("error keeps go's package header: %q", e.Error())
			}
		})
	}
}

func TestRunFailures(t *testing.T) {
	w := newTestWorkspace(t)
	decls := []cell.Decl{
		{Kind: cell.FuncDecl, Name: "boom", Source: "func boom(s []int) int {\n\treturn s[5]\n}", Cell: 1, Line: 1},
		// A panic whose message takes time to print: testing lets the
		// benchmark's runner go on meanwhile, and the process must not
		// end with status 0 first.
		{Kind: cell.ImportDecl, Name: "time", Source: `import "time"`, Cell: 2, Line: 1},
		{Kind: cell.TypeDecl, Name: "slowErr", Source: "type slowErr struct{}", Cell: 2, Line: 2},
		{Kind: cell.MethodDecl, Name: "slowErr.Error", Source: "func (slowErr) Error() string { time.Sleep(500 * time.Millisecond); return \"slow\" }", Cell: 2, Line: 3},
	}
	tests := []struct {
		name    string
		body    string
		kind    ErrorKind
		summary string
		frame   string
	}{
		{"panic", "boom([]int{1})", Panicked, "the cell panicked: runtime error: index out of range [5] with length 1", "In[1]:2 in boom"},
		{"os.Exit", "os.Exit(3)", Exited, "status 3", ""},
		{"explicit panic", "panic(\"my message\")", Panicked, "the cell panicked: my message", "In[3]:2"},
		{"slowly printed panic", "panic(slowErr{})", Panicked, "the cell panicked: slow", "In[3]:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := buildBody(t, w, decls, "", tt.body)
			_, err := w.Run(context.Background(), bin, RunOptions{Args: benchArgs})
			var e *Error
			if !errors.As(err, &e) || e.Kind != tt.kind {
				t.Fatalf("got %v, want kind %d", err, tt.kind)
			}
			if !strings.Contains(e.Summary, tt.summary) {
				t.Errorf("summary %q lacks %q", e.Summary, tt.summary)
			}
			if tt.frame != "" && !strings.Contains(strings.Join(e.Lines, "\n"), tt.frame) {
				t.Errorf("frames %q lack %q", e.Lines, tt.frame)
			}
		})
	}
}

func TestRunInterrupt(t *testing.T) {
	w := newTestWorkspace(t)
	bin := buildBody(t, w, nil, "", "for {\n}")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := w.Run(ctx, bin, RunOptions{Args: benchArgs})
	took := time.Since(start)
	var e *Error
	if !errors.As(err, &e) || e.Kind != Interrupted || !strings.Contains(e.Error(), "interrupted") {
		t.Fatalf("got %v, want an interruption", err)
	}
	if took > 300*time.Millisecond+time.Second {
		t.Errorf("the child was stopped %v after the interrupt", took-300*time.Millisecond)
	}
}

func TestBuildInterrupted(t *testing.T) {
	w := newTestWorkspace(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := w.Build(ctx, Program{Benchmarks: []Benchmark{{Name: "Cell", Body: Snippet{Source: "x := 1", Cell: 1, Line: 1}}}})
	var e *Error
	if !errors.As(err, &e) || e.Kind != Interrupted || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want an interrupted build", err)
	}
}

func TestRunTimeout(t *testing.T) {
	w := newTestWorkspace(t)
	bin := buildBody(t, w, nil, "", "time.Sleep(time.Hour)")
	_, err := w.Run(context.Background(), bin, RunOptions{Args: benchArgs, Timeout: 200 * time.Millisecond})
	var e *Error
	if !errors.As(err, &e) || e.Kind != TimedOut {
		t.Fatalf("got %v, want a timeout", err)
	}
}

func TestRunMemoryLimit(t *testing.T) {
	w := newTestWorkspace(t)
	bin := buildBody(t, w, nil, "var keep [][]byte", "keep = append(keep, make([]byte, 1<<20))\nfor i := range keep[len(keep)-1] {\n\tkeep[len(keep)-1][i] = 1\n}")
	start := time.Now()
	_, err := w.Run(context.Background(), bin, RunOptions{Args: []string{"-test.run=^$", "-test.bench=.", "-test.benchtime=100000x"}, MemoryLimit: 64 << 20, Timeout: 20 * time.Second})
	var e *Error
	if !errors.As(err, &e) || e.Kind != OutOfMemory {
		t.Fatalf("got %v, want the memory limit", err)
	}
	if !strings.Contains(e.Summary, "memory limit exceeded: the cell used more than 64.0 MiB") {
		t.Errorf("summary %q", e.Summary)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("the limit took %v to act", time.Since(start))
	}
}

func TestRunFloodCapped(t *testing.T) {
	w := newTestWorkspace(t)
	tests := []struct{ name, body string }{
		{"stdout lines", `fmt.Println("flooding the output with a long line of text")`},
		{"stderr without newlines", `os.Stderr.WriteString("flooding standard error without a newline ")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := buildBody(t, w, nil, "", tt.body)
			var out bytes.Buffer
			res, err := w.Run(context.Background(), bin, RunOptions{
				Args:        []string{"-test.run=^$", "-test.bench=.", "-test.benchtime=200000x"},
				Output:      &out,
				OutputLimit: 64 << 10,
			})
			if err != nil {
				t.Fatal(err)
			}
			if out.Len() > 64<<10+200 {
				t.Errorf("output is %d bytes, want it capped near 64 KiB", out.Len())
			}
			if !strings.Contains(out.String(), "[output truncated: the cell printed more than 64.0 KiB; the rest was discarded]") {
				t.Errorf("output does not say it was truncated after 64 KiB: %q", out.String()[max(0, out.Len()-200):])
			}
			if !bytes.Contains(res.Bench, []byte("BenchmarkCell")) {
				t.Errorf("benchmark line lost: %q", res.Bench)
			}
		})
	}
}

// TestWarm checks that warming a workspace builds what its programs
// share, so that a build after it compiles only the program.
func TestWarm(t *testing.T) {
	w := newTestWorkspace(t)
	if err := w.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Build(context.Background(), Program{Benchmarks: []Benchmark{{Name: "Cell", Body: Snippet{Source: "_ = 1", Cell: 1, Line: 1}}}}); err != nil {
		t.Fatalf("a build after Warm: %v", err)
	}
}
