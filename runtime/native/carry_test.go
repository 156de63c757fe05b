package native

import (
	"bytes"
	"context"
	"fmt"
	"go/token"
	"go/types"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/check"
	"github.com/perfnb/perfnb/runtime/stdpkg"
)

type carryNode struct {
	V    int
	Next *carryNode
}

// TestCarry checks that the child starts from the values a ValueSource
// gives, not from the initialisers, and that what cannot be carried is
// noted.
func TestCarry(t *testing.T) {
	w := newTestWorkspace(t)
	shared := 5
	head := &carryNode{V: 1}
	head.Next = &carryNode{V: 2, Next: head}
	vals := map[string]any{
		"m":    map[int]bool{2: true, 4: true},
		"xs":   []int{5, 6, 7},
		"n":    41,
		"head": head,
		"ch":   make(chan int),
		"f":    func() int { return 1 },
		"pa":   &shared,
		"ca":   make(chan int),
		"pb":   &shared,
	}
	decls := []cell.Decl{
		{Kind: cell.TypeDecl, Name: "node", Source: "type node struct {\n\tv    int\n\tnext *node\n}", Cell: 1, Line: 1},
		{Kind: cell.VarDecl, Name: "m", Source: "var m = map[int]bool{}", Cell: 1, Line: 5},
		{Kind: cell.VarDecl, Name: "xs", Source: "var xs = make([]int, 0)", Cell: 1, Line: 6},
		{Kind: cell.VarDecl, Name: "n", Source: "var n = 1", Cell: 1, Line: 7},
		{Kind: cell.VarDecl, Name: "head", Source: "var head = &node{v: 9}", Cell: 1, Line: 8},
		{Kind: cell.VarDecl, Name: "ch", Source: "var ch = make(chan int, 3)", Cell: 1, Line: 9},
		{Kind: cell.VarDecl, Name: "f", Source: "var f = func() int { return 2 }", Cell: 1, Line: 10},
		// pa is encoded first, then dropped with ca: pb, which points
		// where pa does, must be numbered again without it.
		{Kind: cell.VarDecl, Name: "pa", Source: "var pa, ca = new(int), make(chan int, 1)", Cell: 1, Line: 11},
		{Kind: cell.VarDecl, Name: "pb", Source: "var pb = new(int)", Cell: 1, Line: 12},
	}
	w.SetValues(valuesOf(vals))
	w.SetTypes(checkedTypes(t, decls))
	bin := buildBody(t, w, decls, "", `fmt.Println(len(m), m[4], xs, n, head.v, head.next.v, head.next.next == head, cap(ch), f(), *pa, *pb, cap(ca))`)
	var out, errOut bytes.Buffer
	if _, err := w.Run(context.Background(), bin, RunOptions{Args: []string{"-test.run=^$", "-test.bench=^BenchmarkCell$", "-test.benchtime=1x"}, Output: &out, Stderr: &errOut}); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	if got, want := strings.TrimSpace(out.String()), "2 true [5 6 7] 41 1 2 true 3 2 0 5 1"; got != want {
		t.Errorf("the child printed %q, want %q\nstderr: %s", got, want, errOut.String())
	}
	for _, want := range []string{"ch: a channel (chan int) cannot be carried", "f: a func value", "pa: declared with a variable that cannot be carried"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("notes lack %q:\n%s", want, errOut.String())
		}
	}
}

// BenchmarkCarry measures what carrying a fixture of 1 MB and 100 MB (a
// []float64 filled by a loop in the notebook) adds to a magic: the build
// with carrying against the same build without, and the child's run (which
// decodes and checks it) against the run of a child that makes the
// fixture with its initialiser.
func BenchmarkCarry(b *testing.B) {
	w, err := NewWorkspace(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1MB", 1 << 20}, {"100MB", 100 << 20}} {
		xs := make([]float64, size.bytes/8)
		for i := range xs {
			xs[i] = float64(i)
		}
		decls := []cell.Decl{{Kind: cell.VarDecl, Name: "xs", Source: fmt.Sprintf("var xs = make([]float64, %d)", len(xs)), Cell: 1, Line: 1}}
		w.SetTypes(checkedTypes(b, decls))
		prog := Program{Decls: decls, Benchmarks: []Benchmark{{Name: "Cell", Body: Snippet{Source: "_ = len(xs)", Cell: 2, Line: 1}}}}
		for _, carry := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/carried=%v", size.name, carry), func(b *testing.B) {
				if carry {
					w.SetValues(func(string) (reflect.Value, bool) { return reflect.ValueOf(&xs).Elem(), true })
				} else {
					w.SetValues(nil)
				}
				var build, run time.Duration
				for b.Loop() {
					start := time.Now()
					bin, err := w.Build(context.Background(), prog)
					if err != nil {
						b.Fatal(err)
					}
					build += time.Since(start)
					res, err := w.Run(context.Background(), bin, RunOptions{Args: []string{"-test.run=^$", "-test.bench=^BenchmarkCell$", "-test.benchtime=1x"}})
					if err != nil {
						b.Fatal(err)
					}
					run += res.Elapsed
				}
				b.ReportMetric(build.Seconds()/float64(b.N), "build-sec/op")
				b.ReportMetric(run.Seconds()/float64(b.N), "run-sec/op")
			})
		}
	}
}

// BenchmarkCarryMap measures what carrying a map of 1e6 string keys costs
// the kernel's side of a build (selecting, encoding and writing it; not
// the child's decoding): the first time, and again while its version
// holds (the encoding of the last build is reused).
func BenchmarkCarryMap(b *testing.B) {
	w, err := NewWorkspace(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	big := make(map[string]int, 1_000_000)
	for i := range 1_000_000 {
		big[fmt.Sprint("key-", i)] = i
	}
	w.SetValues(func(string) (reflect.Value, bool) { return reflect.ValueOf(&big).Elem(), true })
	version := 0
	w.SetVersions(func(string) (string, bool) { return fmt.Sprint(version), true })
	decls := []cell.Decl{{Kind: cell.VarDecl, Name: "big", Source: "var big = map[string]int{}", Cell: 1, Line: 1}}
	w.SetTypes(checkedTypes(b, decls))
	g, err := newGenerator(Program{Decls: decls, Benchmarks: []Benchmark{{Name: "Cell", Body: Snippet{Source: "_ = len(big)", Cell: 2, Line: 1}}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, changed := range []bool{true, false} {
		b.Run(fmt.Sprintf("changed=%v", changed), func(b *testing.B) {
			for k := 0; b.Loop(); k++ {
				if changed {
					version++
				}
				st := w.carry(context.Background(), g, filepath.Join(w.dir, fmt.Sprintf("s-%d.state", k)))
				if len(st.digests) != 1 {
					b.Fatalf("carried %v, notes %q", st.digests, st.notes)
				}
			}
		})
	}
}

// valuesOf is a ValueSource of the values of vals, each in a variable of
// its own, as the interpreter holds them.
func valuesOf(vals map[string]any) ValueSource {
	return func(name string) (reflect.Value, bool) {
		v, ok := vals[name]
		if !ok {
			return reflect.Value{}, false
		}
		p := reflect.New(reflect.TypeOf(v))
		p.Elem().Set(reflect.ValueOf(v))
		return p.Elem(), true
	}
}

// checkedTypes is a TypeSource of the types the type checker gives the
// variables of decls, as the session's checker gives them.
func checkedTypes(tb testing.TB, decls []cell.Decl) TypeSource {
	_, typesOf := checkedCell(tb, decls, "", 0)
	return typesOf
}

// checkedCell parses src as cell count and type-checks it with the
// declarations decls, as the session does before a compiled cell runs:
// it returns the cell's items and a TypeSource of the types the checker
// gave the variables of both.
func checkedCell(tb testing.TB, decls []cell.Decl, src string, count int) ([]cell.Item, TypeSource) {
	tb.Helper()
	fset := token.NewFileSet()
	items, err := cell.ParseIn(fset, src)
	if err != nil {
		tb.Fatal(err)
	}
	store := cell.NewStore()
	store.Add(decls...)
	prog, err := check.New(check.Options{Fset: fset, AutoImport: stdpkg.Path}).Check(context.Background(), store, items, count)
	if err != nil {
		tb.Fatalf("type-checking the cell: %v", err)
	}
	return items, func(_ context.Context, names []string) (map[string]types.Type, error) {
		out := map[string]types.Type{}
		for _, n := range names {
			if t := prog.VarType(n); t != nil {
				out[n] = t
			}
		}
		return out, nil
	}
}
