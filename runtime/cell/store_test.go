package cell

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// addCell parses src and adds its declarations to s as cell n, as the
// session does after a successful cell.
func addCell(t *testing.T, s *Store, n int, src string) {
	t.Helper()
	items, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	for _, it := range items {
		for _, d := range it.Decls {
			d.Cell = n
			s.Add(d)
		}
	}
}

func sources(s *Store) string {
	var b strings.Builder
	for _, d := range s.Decls() {
		fmt.Fprintf(&b, "%s In[%d]:%d %s\n", d.Name, d.Cell, d.Line, d.Source)
	}
	return b.String()
}

func TestStore(t *testing.T) {
	tests := []struct {
		name  string
		cells []string
		want  string
		names []string
	}{
		{
			name:  "first-definition order and replacement in place",
			cells: []string{"import \"fmt\"\ntype T int\nfunc f() int { return 1 }\nx := f()", "func f() int { return 2 }\nfmt.Println(f())"},
			want: "fmt In[1]:1 import \"fmt\"\nT In[1]:2 type T int\nf In[2]:1 func f() int { return 2 }\n" +
				"x In[1]:4 var x = f()\n",
			names: []string{"T", "f", "x"},
		},
		{
			name:  "a var replaced by a func of the same name",
			cells: []string{"x := 1", "func x() {}"},
			want:  "x In[2]:1 func x() {}\n",
			names: []string{"x"},
		},
		{
			name:  "methods keyed by type and name",
			cells: []string{"type T struct{}\nfunc (T) M() int { return 1 }\nfunc (*T) N() {}", "func (t *T) M() int { return 2 }"},
			want:  "T In[1]:1 type T struct{}\nT.M In[2]:1 func (t *T) M() int { return 2 }\nT.N In[1]:3 func (*T) N() {}\n",
			names: []string{"T"},
		},
		{
			name:  "redefining one name of a shared declaration blanks it",
			cells: []string{"a, bb := 1, 2", "bb := 3"},
			want:  "a In[1]:1 var a, _  = 1, 2\nbb In[2]:1 var bb = 3\n",
			names: []string{"a", "bb"},
		},
		{
			name:  "redefining every name drops the declaration",
			cells: []string{"a, b := 1, 2", "var a = 3", "b := 4"},
			// b's new declaration takes the place of the dropped a, b.
			want:  "b In[3]:1 var b = 4\na In[2]:1 var a = 3\n",
			names: []string{"a", "b"},
		},
		{
			name:  "re-running a multi-name declaration",
			cells: []string{"a, b := 1, 2", "a, b := 3, 4"},
			want:  "a In[2]:1 var a, b = 3, 4\n",
			names: []string{"a", "b"},
		},
		{
			name:  "const group",
			cells: []string{"const (\n\tA = iota\n\tB\n\tC\n)", "const B = 10"},
			want:  "A In[1]:1 const (\n\tA = iota\n\t_\n\tC\n)\nB In[2]:1 const B = 10\n",
			names: []string{"A", "B", "C"},
		},
		{
			name:  "imports keyed by path",
			cells: []string{"import str \"strings\"", "import \"strings\"\nimport \"sort\""},
			want:  "strings In[2]:1 import \"strings\"\nsort In[2]:2 import \"sort\"\n",
		},
		{
			name:  "a redefinition within one cell keeps the last",
			cells: []string{"x := 1\nx2 := 5\nvar x = 2"},
			want:  "x In[1]:3 var x = 2\nx2 In[1]:2 var x2 = 5\n",
			names: []string{"x", "x2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore()
			for i, c := range tt.cells {
				addCell(t, s, i+1, c)
			}
			if got := sources(s); got != tt.want {
				t.Errorf("Decls:\n%s\nwant:\n%s", got, tt.want)
			}
			if got := s.Names(); !reflect.DeepEqual(got, tt.names) {
				t.Errorf("Names() = %q, want %q", got, tt.names)
			}
		})
	}
}

func TestStoreLookup(t *testing.T) {
	s := NewStore()
	addCell(t, s, 1, "import \"fmt\"\n// Pair holds two.\ntype Pair struct{ A, B int }\nfunc (p Pair) Sum() int { return p.A + p.B }\np, q := Pair{1, 2}, 3")
	tests := []struct {
		name   string
		ok     bool
		kind   DeclKind
		source string
	}{
		{"Pair", true, TypeDecl, "// Pair holds two.\ntype Pair struct{ A, B int }"},
		{"Pair.Sum", true, MethodDecl, "func (p Pair) Sum() int { return p.A + p.B }"},
		{"q", true, VarDecl, "var p, q = Pair{1, 2}, 3"},
		{"fmt", true, ImportDecl, `import "fmt"`},
		{"Sum", false, 0, ""},
	}
	for _, tt := range tests {
		d, ok := s.Lookup(tt.name)
		if ok != tt.ok || ok && (d.Kind != tt.kind || d.Source != tt.source || d.Name != tt.name || d.Cell != 1) {
			t.Errorf("Lookup(%q) = %+v, %v; want kind %v source %q, %v", tt.name, d, ok, tt.kind, tt.source, tt.ok)
		}
	}
	if n := s.Len(); n != 4 {
		t.Errorf("Len() = %d, want 4 (p and q share a declaration)", n)
	}
}

func TestIsComplete(t *testing.T) {
	tests := []struct {
		src    string
		status string
		indent string
	}{
		{"", "complete", ""},
		{"x := 1", "complete", ""},
		{"fmt.Println(\"hi\")\n", "complete", ""},
		{"func f() {", "incomplete", "    "},
		{"func f() {\n\tif true {", "incomplete", "        "},
		{"func f() {\n\tif true {\n\t}\n}", "complete", ""},
		{"x := []int{\n1,\n2,", "incomplete", "    "},
		{"fmt.Println(", "incomplete", "    "},
		{"s := `raw", "incomplete", ""},
		{"s := `raw\nstill`", "complete", ""},
		{"/* a comment", "incomplete", ""},
		{"x := 1 +", "incomplete", ""},
		{"x := 1 + // more to come", "incomplete", ""},
		{"x := 1 // done", "complete", ""},
		{"}", "invalid", ""},
		{"f(]", "invalid", ""},
		{"s := \"abc", "invalid", ""},
		{"x := := 2", "invalid", ""},
		{"%timeit f()", "complete", ""},
		{"x := 1\n%memit g()", "complete", ""},
		{"fmt.Println?", "complete", ""},
		{"%%timeit\nf()", "incomplete", ""},
		{"%%timeit\nf()\n", "complete", ""},
		{"// only a comment", "complete", ""},
		{"return", "complete", ""},
		{"i++", "complete", ""},
		{"if x {\n} else {", "incomplete", "    "},
	}
	for _, tt := range tests {
		status, indent := IsComplete(tt.src)
		if status != tt.status || indent != tt.indent {
			t.Errorf("IsComplete(%q) = %q, %q; want %q, %q", tt.src, status, indent, tt.status, tt.indent)
		}
	}
}

func TestStoreClone(t *testing.T) {
	s := NewStore()
	addCell(t, s, 1, "a, b := 1, 2\nfunc f() {}")
	c := s.Clone()
	addCell(t, c, 2, "b := 3\nfunc f() int { return 1 }")
	if got, want := sources(s), "a In[1]:1 var a, b = 1, 2\nf In[1]:2 func f() {}\n"; got != want {
		t.Errorf("original changed by its clone:\n%s\nwant:\n%s", got, want)
	}
	if got, want := sources(c), "a In[1]:1 var a, _ = 1, 2\nf In[2]:2 func f() int { return 1 }\nb In[2]:1 var b = 3\n"; got != want {
		t.Errorf("clone:\n%s\nwant:\n%s", got, want)
	}
}

// TestStoreCompacts redefines names many times: the store keeps one
// declaration per name, in first-definition order, its dropped slots
// reclaimed.
func TestStoreCompacts(t *testing.T) {
	s := NewStore()
	for k := range 1000 {
		s.Add(Decl{Kind: VarDecl, Name: fmt.Sprintf("v%d", k%3), Source: fmt.Sprintf("var v%d = %d", k%3, k), Cell: k + 1, Line: 1})
	}
	if got := sources(s); got != "v0 In[1000]:1 var v0 = 999\nv1 In[998]:1 var v1 = 997\nv2 In[999]:1 var v2 = 998\n" {
		t.Errorf("store:\n%s", got)
	}
	if s.Len() != 3 || len(s.entries) > 2*3+16 {
		t.Errorf("Len() = %d with %d slots, want 3 and few", s.Len(), len(s.entries))
	}
}
