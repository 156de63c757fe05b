package native

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/perfnb/perfnb/internal/gotool"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/harness"
)

// TestCompiledCell builds and runs a cell as a program of its own: it
// starts from the notebook's values, prints, shows its trailing value, and
// gives back the variables it declared and those it changed (not those it
// left alone).
func TestCompiledCell(t *testing.T) {
	w := newTestWorkspace(t)
	vals := map[string]any{"base": []int{9, 8, 7}, "still": map[string]int{"a": 1}}
	decls := []cell.Decl{
		{Kind: cell.ImportDecl, Name: "fmt", Source: `import "fmt"`, Cell: 1, Line: 1},
		{Kind: cell.VarDecl, Name: "base", Source: "var base = []int{5, 3}", Cell: 1, Line: 2},
		{Kind: cell.VarDecl, Name: "still", Source: "var still = map[string]int{}", Cell: 1, Line: 3},
	}
	src := "xs := append([]int(nil), base...)\nslices.Sort(xs)\nbase[0] = 100\nfmt.Println(xs, len(still))\nfunc double(n int) int { return 2 * n }\nmin(double(len(xs)), 5)"
	items, typesOf := checkedCell(t, decls, src, 4)
	w.SetValues(valuesOf(vals))
	w.SetTypes(typesOf)
	bin, err := w.BuildCell(context.Background(), CellProgram{Decls: decls, Count: 4, Items: items, Show: 1})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	var out, errOut bytes.Buffer
	var shown []harness.DisplayMessage
	res, err := w.RunCell(context.Background(), bin, CellRunOptions{Stdout: &out, Stderr: &errOut,
		Display: func(m harness.DisplayMessage) { shown = append(shown, m) }})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	if got, want := out.String(), "[7 8 9] 1\n"; got != want {
		t.Errorf("stdout %q, want %q (stderr %q)", got, want, errOut.String())
	}
	if len(shown) != 1 || shown[0].Op != "result" || shown[0].Data["text/plain"] != "5" {
		t.Errorf("shown %+v, want the result 5", shown)
	}
	var names []string
	for _, v := range res.Report.Vars {
		names = append(names, v.Name)
	}
	if got := strings.Join(names, " "); got != "xs base" {
		t.Errorf("values back: %q, want xs and base (still did not change)", got)
	}
}

// TestBinaryReused checks that the same program is not built twice: the
// second build of a compiled cell reuses the binary, with the values of
// the moment in its state, and another program is built anew.
func TestBinaryReused(t *testing.T) {
	w := newTestWorkspace(t)
	n := 1
	w.SetValues(func(name string) (reflect.Value, bool) {
		if name != "n" {
			return reflect.Value{}, false
		}
		return reflect.ValueOf(&n).Elem(), true
	})
	decls := []cell.Decl{
		{Kind: cell.ImportDecl, Name: "fmt", Source: `import "fmt"`, Cell: 1, Line: 1},
		{Kind: cell.VarDecl, Name: "n", Source: "var n = 0", Cell: 1, Line: 2},
	}
	w.SetTypes(checkedTypes(t, decls))
	run := func(src string) (*Binary, string) {
		t.Helper()
		bin := buildCell(t, w, decls, src)
		var out bytes.Buffer
		if _, err := w.RunCell(context.Background(), bin, CellRunOptions{Stdout: &out}); err != nil {
			t.Fatal(err)
		}
		return bin, out.String()
	}
	first, out1 := run("fmt.Println(n)")
	n = 2
	second, out2 := run("fmt.Println(n)")
	other, _ := run("fmt.Println(n + 1)")
	if out1 != "1\n" || out2 != "2\n" {
		t.Errorf("printed %q then %q, want 1 then 2", out1, out2)
	}
	if second.Path != first.Path || second.BuildTime != 0 {
		t.Errorf("the same program was built again: %s (%v) after %s", second.Path, second.BuildTime, first.Path)
	}
	if other.Path == first.Path {
		t.Errorf("another program reused %s", first.Path)
	}
	// A binary that keeps serving stays while other programs come and
	// go (it is the most recently used).
	for k := range keepBinaries + 2 {
		run(fmt.Sprintf("fmt.Println(n + %d)", k+2))
		if again, out := run("fmt.Println(n)"); again.Path != first.Path || out != "2\n" {
			t.Fatalf("after %d other programs: %s printed %q", k+1, again.Path, out)
		}
	}
}

// buildCell builds src as cell 2 of a notebook of decls.
func buildCell(t testing.TB, w *Workspace, decls []cell.Decl, src string) *Binary {
	t.Helper()
	items, err := cell.ParseIn(token.NewFileSet(), src)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := w.BuildCell(context.Background(), CellProgram{Decls: decls, Count: 2, Items: items})
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestDirectBuild checks that compiled cells of standard packages are
// built with the compiler and the linker directly, run as go build's
// would, and that a cell the compiler refuses still gets go build's
// error, at its cell line.
func TestDirectBuild(t *testing.T) {
	w := newTestWorkspace(t)
	decls := []cell.Decl{{Kind: cell.ImportDecl, Name: "fmt", Source: `import "fmt"`, Cell: 1, Line: 1}}
	tests := []struct {
		src, out, err string
		direct        bool
	}{
		{src: `fmt.Println("one")`, out: "one\n", direct: true},
		{src: `fmt.Println(strings.Repeat("ab", 2), slices.Max([]int{3, 9}))`, out: "abab 9\n", direct: true},
		{src: `fmt.Println(undefinedName)`, err: "In[2]:1:13: undefined: undefinedName"},
		{src: `fmt.Println("again")`, out: "again\n", direct: true}, // its archives listed anew
	}
	for _, tt := range tests {
		items, err := cell.ParseIn(token.NewFileSet(), tt.src)
		if err != nil {
			t.Fatal(err)
		}
		before := w.direct.builds
		bin, err := w.BuildCell(context.Background(), CellProgram{Decls: decls, Count: 2, Items: items})
		if direct := w.direct.builds > before; direct != tt.direct {
			t.Errorf("%s: built directly: %v, want %v", tt.src, direct, tt.direct)
		}
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.src, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		var out bytes.Buffer
		if _, err := w.RunCell(context.Background(), bin, CellRunOptions{Stdout: &out}); err != nil || out.String() != tt.out {
			t.Errorf("%s: printed %q (%v), want %q", tt.src, out.String(), err, tt.out)
		}
	}
	// The user's GOFLAGS are go build's to apply.
	w.env = gotool.Env(append(os.Environ(), "GOFLAGS=-gcflags=-N"), gotool.Policy{Offline: true, Work: "off", UserFlags: true})
	items, _ := cell.ParseIn(token.NewFileSet(), `fmt.Println("flags")`)
	before := w.direct.builds
	if _, err := w.BuildCell(context.Background(), CellProgram{Decls: decls, Count: 2, Items: items}); err != nil || w.direct.builds != before {
		t.Errorf("with the user's GOFLAGS: %v, built directly: %v", err, w.direct.builds != before)
	}
}

// TestDisplaysInOrder checks that a compiled cell's displays come where
// its output had reached, though the two come on different pipes.
func TestDisplaysInOrder(t *testing.T) {
	w := newTestWorkspace(t)
	decls := []cell.Decl{
		{Kind: cell.ImportDecl, Name: "fmt", Source: `import "fmt"`, Cell: 1, Line: 1},
		{Kind: cell.ImportDecl, Name: "perfnbcell/display", Source: `import "perfnbcell/display"`, Cell: 1, Line: 2},
	}
	src := "for i := range 3 {\n\tfmt.Printf(\"text %d\\n\", i)\n\tdisplay.Text(fmt.Sprint(\"shown \", i))\n}\nfmt.Print(\"end\")"
	bin := buildCell(t, w, decls, src)
	var mu sync.Mutex
	var events strings.Builder
	out := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		events.Write(p)
		return len(p), nil
	})
	if _, err := w.RunCell(context.Background(), bin, CellRunOptions{Stdout: out, Display: func(m harness.DisplayMessage) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&events, "[%s %v]\n", m.Op, m.Data["text/plain"])
	}}); err != nil {
		t.Fatal(err)
	}
	want := "text 0\n[display shown 0]\ntext 1\n[display shown 1]\ntext 2\n[display shown 2]\nend"
	if got := events.String(); got != want {
		t.Errorf("the cell's output and displays came as\n%s\nwant\n%s", got, want)
	}
}

// writerFunc is an io.Writer of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestDisplayOrderMarks checks that marks are found wherever reads cut
// the output, and that output without marks passes as it is.
func TestDisplayOrderMarks(t *testing.T) {
	mark := harness.DisplayMark
	tests := []struct {
		name, in string
		chunk    int // bytes per read
		marks    int
	}{
		{"no mark", "plain text\x00 with a NUL", 4, 0},
		{"whole marks", "a" + mark + "b" + mark + "c", 64, 2},
		{"marks cut by reads", "a" + mark + "b" + mark + mark + "c", 3, 3},
		{"a mark's start at the end", "a\x00perfnb", 5, 0},
	}
	for _, tt := range tests {
		for _, r := range []io.Reader{&chunkReader{s: tt.in, n: tt.chunk}, iotest.OneByteReader(strings.NewReader(tt.in))} {
			o := newDisplayOrder()
			o.displaysEnded() // no display waits
			var got bytes.Buffer
			o.copyOut(&got, r)
			if want := strings.ReplaceAll(tt.in, mark, ""); got.String() != want || o.marks != tt.marks {
				t.Errorf("%s: wrote %q with %d marks, want %q with %d", tt.name, got.String(), o.marks, want, tt.marks)
			}
		}
	}
}

// chunkReader reads s n bytes at a time.
type chunkReader struct {
	s string
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.s)
	r.s = r.s[k:]
	return k, nil
}

// TestCellLoopsPoll checks that the interrupt checks added to a compiled
// cell's loops leave it valid Go, whatever the layout of the loop.
func TestCellLoopsPoll(t *testing.T) {
	for _, src := range []string{
		"for i := 0; i < 3; i++ { n += i }",
		"for i := range 3 { n += i }",
		"for range 3 {}",
		"for i := range 3 {\n\tn += i\n}",
		"for i := range 3 { n += i; }",
		"for i := range 3 { n += i } // done",
		"for i := range 3 {\n\tn += i // add\n}",
		"outer:\nfor i := range 3 { for j := range 3 { if j > i { continue outer }; n++ } }",
		"for {\n\tbreak\n}",
		"for i := range 3 { func() { for range i { n++ } }() }",
	} {
		items, err := cell.ParseIn(token.NewFileSet(), "n := 0\n"+src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		g, err := newCellGenerator(CellProgram{Count: 2, Items: items}, map[string]types.Type{"n": types.Typ[types.Int]}, nil)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		prog := g.emit()
		if _, err := parser.ParseFile(token.NewFileSet(), "main.go", prog, 0); err != nil {
			t.Errorf("%q: the compiled cell does not parse: %v\n%s", src, err, prog)
		}
		if want := strings.Count(src, "for "); strings.Count(string(prog), harnessName+".Poll()") < want-strings.Count(src, "func()") {
			t.Errorf("%q: fewer interrupt checks than loops:\n%s", src, prog)
		}
	}
}

// TestCellInterruptStopping checks that an interrupted compiled cell that
// stops at a check says so (Stopping, not a display) and gives back the
// values it reached.
func TestCellInterruptStopping(t *testing.T) {
	w := newTestWorkspace(t)
	items, typesOf := checkedCell(t, nil, "n := 0\nfor {\n\tn++\n}", 2)
	w.SetTypes(typesOf)
	bin, err := w.BuildCell(context.Background(), CellProgram{Count: 2, Items: items})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(500*time.Millisecond, cancel)
	var stopping atomic.Bool
	var shown []harness.DisplayMessage
	res, err := w.RunCell(ctx, bin, CellRunOptions{
		Display:  func(m harness.DisplayMessage) { shown = append(shown, m) },
		Stopping: func() { stopping.Store(true) },
	})
	var ne *Error
	if !errors.As(err, &ne) || ne.Kind != Interrupted || res == nil || !res.Report.Interrupted {
		t.Fatalf("run: %v, report %+v; want an interrupt the cell saw", err, res)
	}
	if !stopping.Load() || len(shown) != 0 {
		t.Errorf("Stopping called: %v; displays %+v (want none)", stopping.Load(), shown)
	}
	if len(res.Report.Vars) != 1 || res.Report.Vars[0].Name != "n" {
		t.Errorf("values back: %+v, want n", res.Report.Vars)
	}
}

// BenchmarkBuildCell builds a new compiled cell each time (a warm build
// cache), directly and with go build.
func BenchmarkBuildCell(b *testing.B) {
	for _, mode := range []string{"direct", "go-build"} {
		b.Run(mode, func(b *testing.B) {
			w := newTestWorkspace(b)
			w.direct.off = mode == "go-build"
			decls := []cell.Decl{{Kind: cell.ImportDecl, Name: "fmt", Source: `import "fmt"`, Cell: 1, Line: 1}}
			build := func(k int) {
				items, err := cell.ParseIn(token.NewFileSet(), fmt.Sprintf("fmt.Println(%d)", k))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.BuildCell(context.Background(), CellProgram{Decls: decls, Count: 2, Items: items}); err != nil {
					b.Fatal(err)
				}
			}
			build(-1) // the dependencies, listed and built
			k := 0
			for b.Loop() {
				build(k)
				k++
			}
		})
	}
}
