package check

import (
	"testing"
)

// TestIncrementalAgreesWithFull runs a notebook of redefinitions,
// failures, methods, generics and imports twice: checked incrementally
// and checked in full at every cell. Each cell must get the same answer.
func TestIncrementalAgreesWithFull(t *testing.T) {
	cells := []string{
		"import \"strings\"\nx := 1\ns := \"a\"",
		"type P struct{ X, Y int }\nfunc (p P) Sum() int { return p.X + p.Y }",
		"ps := []P{{1, 2}}\nfor _, p := range ps { x += p.Sum() }",
		"func (p *P) Scale(k int) { p.X *= k; p.Y *= k }",
		"ps[0].Scale(2)\nps[0].Sum()",
		"x := \"now a string\"",
		"x + s",
		"x + 1",
		"type Q = P",
		"var q Q = ps[0]\nq.Sum()",
		"func helper() int { return len(ps) }",
		"func helper() int { return len(ps) + 1 }",
		"func helper() string { return \"\" }",
		"helper() + \"x\"",
		"const k = 3",
		"const k = 3",
		"k * 2",
		"type P struct{ X, Y, Z int }",
		"ps",
		"P{1, 2, 3}.Sum()",
		"func (p P) Sum() int { return p.X + p.Y + p.Z }",
		"P{1, 2, 3}.Sum()",
		"ps := []P{{1, 2, 3}}",
		"ps[0].Scale(2)",
		"y := 1\nnosuch()",
		"y",
		"y := 2",
		"y + 1",
		"var m = map[string]int{}\nm[\"a\"]++",
		"m := 5",
		"m + 1",
		"import str \"strings\"",
		"str.ToUpper(s)",
		"strings.ToUpper(s)",
		"func Gen[T any](v T) []T { return []T{v} }",
		"len(Gen(1)) + len(Gen(\"a\"))",
		"func Gen[T any](v T) []T { return []T{v, v} }",
		"len(Gen(1.5))",
		"type S struct{ P }",
		"S{}.Sum()",
		"func (P) Extra() int { return 1 }",
		"S{}.Extra()",
		"func (S) Extra() int { return 2 }",
		"S{}.Extra()",
		"var err error\nerr.Error()",
		"func len(x int) int { return x }",
		"len(3)",
	}
	a := run(t, newChecker(), true, cells...)
	b := run(t, newChecker(), false, cells...)
	if want := 4; countErrors(a) != want {
		t.Errorf("%d cells failed, want %d: %q", countErrors(a), want, a)
	}
	for k := range cells {
		if a[k] != b[k] {
			t.Errorf("cell %d %q:\n incremental %q\n full        %q", k+1, cells[k], a[k], b[k])
		}
	}
}

func countErrors(out []string) int {
	n := 0
	for _, e := range out {
		if e != "" {
			n++
		}
	}
	return n
}
