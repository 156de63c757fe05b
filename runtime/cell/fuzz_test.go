package cell

import "testing"

// FuzzParse checks that Parse and IsComplete never panic and that items
// have lines within the cell.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"x := 1\nx", "import \"fmt\"\nfunc f() {}\n%timeit f()\nf?", "%%timeit\nx", "s := `a\n}`\n",
		"a := 1; b := 2; a + b", "for i := 0; i < 3; i++ {\n}\n", "/* c */ x", "}", "\"abc", "func (", "x :=\n",
		"// c\n\n// d\nfunc f() {}", "var (\n\ta = 1\n)", "const (\n\tA = iota\n\tB\n)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		IsComplete(src)
		items, err := Parse(src)
		if err != nil {
			return
		}
		lines := 1
		for _, c := range src {
			if c == '\n' {
				lines++
			}
		}
		for _, it := range items {
			if it.Line < 1 || it.Line > lines {
				t.Errorf("item %+v: line out of 1..%d", it, lines)
			}
		}
	})
}
