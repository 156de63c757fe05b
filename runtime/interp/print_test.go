package interp

import (
	"context"
	"testing"

	"github.com/perfnb/perfnb/runtime/cell"
)

// TestOneParsePerItem counts the parses of an item's source by the
// interpreter: one per Eval, however many rewrites the item needs (it was
// two to four before the rewrites worked on one tree).
func TestOneParsePerItem(t *testing.T) {
	i, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	items := []cell.Item{
		{Kind: cell.Declaration, Source: "func f(n int) int { s := 0; for k := range n { s += k }; return s }"},
		{Kind: cell.Statement, Source: "x := 3"},
		{Kind: cell.Statement, Source: "for k := range x { _ = k }"},
		{Kind: cell.Statement, Source: "defer println(x); go f(x)"},
		{Kind: cell.Expression, Source: "f(x)"},
		{Kind: cell.Statement, Source: "if x > 1 { for j := 0; j < x; j++ { defer func() { _ = j }() } }"},
	}
	for k, it := range items {
		before := i.parses
		if _, _, err := i.Eval(context.Background(), it, k+1, newPub()); err != nil {
			t.Fatalf("%q: %v", it.Source, err)
		}
		if n := i.parses - before; n != 1 {
			t.Errorf("%q parsed %d times, want 1", it.Source, n)
		}
	}
}

// TestRewrittenPositions checks that errors in rewritten items keep the
// cell's lines and columns. (The argument of a rewritten go statement,
// In[5]:4:14, was at column 165 when the rewrites spliced text; the
// position of item 7's panic is yaegi's.)
func TestRewrittenPositions(t *testing.T) {
	runQuirks(t, []quirk{
		{kind: cell.Statement, src: "for i := range 3 {\n\t   x := \"a\" + i\n\t_ = x\n}", errSub: "In[1]:2:10: invalid operation"},
		{kind: cell.Statement, src: "n := 2", line: 3},
		{kind: cell.Statement, src: "if n > 1 {\n  for j := 0; j < n; j++ {\n    go func() { _ = j }()\n  }\n}\nvar s string = n", line: 4, errSub: "In[3]:9:16: cannot use type int"},
		{kind: cell.Statement, src: "for k := range n { defer func() { _ = k }() }\n  for range n { _ = 1 << \"x\" }", errSub: "In[4]:2:21: invalid operation: shift count"},
		{kind: cell.Declaration, src: "func g() {\n\tfor range n {\n\t\tgo println(1 + \"a\")\n\t}\n}", line: 2, errSub: "In[5]:4:14: invalid operation"},
		{kind: cell.Statement, src: "type P struct{ a, b int }\nvar p P\n  _ = unsafe.Offsetof(p.b) + \"s\"", errSub: "In[6]:3:7: invalid operation"},
		{kind: cell.Statement, src: "for i := range n {\n\tif i == 1 { var m map[string]int; m[\"a\"] = 1 }\n}", errSub: "assignment to entry in nil map", tbSub: "at In[7]:1:25 (cell)"},
	})
}

// TestNestedRewrites runs items whose rewrites hold one another: a defer
// whose argument has a loop with a goroutine, a go statement whose
// argument has unsafe.Offsetof, a wrapped run with a labelled loop.
func TestNestedRewrites(t *testing.T) {
	runQuirks(t, []quirk{
		qs("defer func(f func() int) { fmt.Println(f()) }(func() int {\n\ts := 0\n\tfor i := range 3 {\n\t\tgo func() { _ = i }()\n\t\ts += i\n\t}\n\treturn s\n})", "3\n"),
		qd("type S struct{ a byte; b int64 }"),
		qs("var s S\ndone := make(chan bool)\ngo func(o uintptr) { fmt.Println(o); done <- true }(unsafe.Offsetof(s.b))\n<-done", "8\n"),
		qs("n := 0\nouter:\n\tfor i := range 4 {\n\t\tfor j := range 4 { if j > i { continue outer }; n++ }\n\t}\nfmt.Println(n)", "10\n"),
	})
}

// FuzzRewrite checks that the rewrites and their printing never panic
// and that what they print parses whenever the item does.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		"for i := range 3 { go func() { _ = i }() }",
		"defer f(x, 1)\nfor { break }",
		"L:\n\tfor i := 0; i < n; i++ { // c\n\t\tif i > 2 { continue L }\n\t}",
		"switch x { case 1: for range n {}\ndefault: go g(a...) }",
		"select { case <-c: defer func() {}() }",
		"_ = unsafe.Offsetof(s.b) + unsafe.Offsetof((s).c)",
		"x := 1; if x > 0 { x++ };; for k, v := range m { _ = func() { _, _ = k, v } }",
		"func f() { for i := range len(xs) { defer println(i) } }",
		"var v = func() int { for {} }()",
		"{ for range 3 { /* c */ } }",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, kind := range []cell.Kind{cell.Statement, cell.Declaration, cell.Expression} {
			seq := 0
			a := analyze(kind, src, func(string) bool { return false }, &seq)
			if a == nil {
				continue
			}
			a.rewrite(kind, 2, 3, &seq, func(string) bool { return true }, func(string) string { return "int" })
			out := a.t.printItem(2, 3)
			if _, err := cell.ParseText(kind, out, 0); err != nil {
				t.Errorf("kind %d %q printed as %q, which does not parse: %v", kind, src, out, err)
			}
		}
	})
}
