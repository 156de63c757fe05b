package native

import (
	"fmt"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/runtime/cell"
)

// BenchmarkGenerate measures generating a magic's program in notebooks
// of 0, 100 and 1,000 one-line functions, of which the statement uses
// one: "parse" parses every declaration (a workspace's first program),
// "again" finds them parsed (the workspace's next programs).
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{0, 100, 1000} {
		decls := make([]cell.Decl, n)
		for i := range decls {
			decls[i] = cell.Decl{Name: fmt.Sprintf("f%d", i), Kind: cell.FuncDecl, Cell: i + 1, Line: 1,
				Source: fmt.Sprintf("func f%d(x int) int { return x + %d }", i, i)}
		}
		body := "_ = 1"
		if n > 0 {
			body = "_ = f0(1)"
		}
		p := Program{Decls: decls, Benchmarks: []Benchmark{{Name: "Cell", Body: Snippet{Source: body, Cell: n + 1, Line: 1, Col: 1}}}}
		for _, again := range []bool{false, true} {
			name := fmt.Sprintf("decls=%d/parse", n)
			if again {
				name = fmt.Sprintf("decls=%d/again", n)
			}
			b.Run(name, func(b *testing.B) {
				var parsed *declCache
				if again {
					parsed = &declCache{}
				}
				for b.Loop() {
					g, err := newGenerator(p, parsed)
					if err != nil {
						b.Fatal(err)
					}
					g.emit()
				}
			})
		}
	}
}

// TestDeclCache checks that programs generated with the same cache read
// each declaration as it now is: a declaration replaced by a later cell
// is the new one, and replaced declarations are forgotten.
func TestDeclCache(t *testing.T) {
	parsed := &declCache{}
	body := Benchmark{Name: "Cell", Body: Snippet{Source: "_ = f(1)", Cell: 9, Line: 1, Col: 1}}
	for i, tt := range []struct {
		src, want string
	}{
		{"func f(x int) int { return x + 1 }", "return x + 1"},
		{"func f(x int) int { return x + 2 }", "return x + 2"},
		{"func f(x int) int { return x + 1 }", "return x + 1"},
	} {
		decls := []cell.Decl{{Name: "f", Kind: cell.FuncDecl, Cell: i + 1, Line: 1, Source: tt.src}}
		for j := range 200 { // unrelated declarations, so that the cache is large enough to forget
			decls = append(decls, cell.Decl{Name: fmt.Sprintf("g%d_%d", i, j), Kind: cell.FuncDecl, Cell: i + 1, Line: j + 2,
				Source: fmt.Sprintf("func g%d_%d() {}", i, j)})
		}
		g, err := newGenerator(Program{Decls: decls, Benchmarks: []Benchmark{body}}, parsed)
		if err != nil {
			t.Fatal(err)
		}
		src := string(g.emit())
		if !strings.Contains(src, tt.want) || strings.Count(src, "func f(") != 1 {
			t.Errorf("program %d: want one f with %q, got:\n%s", i, tt.want, src)
		}
		if n := len(parsed.parsed); n > 2*len(decls)+64 {
			t.Errorf("program %d: the cache holds %d declarations for a store of %d", i, n, len(decls))
		}
	}
}
