package cell

import (
	"go/ast"
	"strings"
	"testing"
)

func TestPos(t *testing.T) {
	for _, tt := range []struct {
		p    Pos
		want string
	}{{Pos{3, 5, 2}, "In[3]:5:2"}, {Pos{3, 5, 0}, "In[3]:5"}, {Pos{12, 0, 0}, "In[12]"}} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
	if got := (Pos{Cell: 4, Line: 2}).Directive(); got != "//line In[4]:2:1" {
		t.Errorf("Directive = %q", got)
	}
	for _, tt := range []struct {
		in   string
		pos  Pos
		rest string
		ok   bool
	}{
		{"In[3]:5:2: undefined: x", Pos{3, 5, 2}, "undefined: x", true},
		{"In[10]/_.go:7: panic", Pos{10, 7, 0}, "panic", true},
		{"at In[3]:5", Pos{}, "at In[3]:5", false},
	} {
		pos, rest, ok := CutPos(tt.in)
		if pos != tt.pos || rest != tt.rest || ok != tt.ok {
			t.Errorf("CutPos(%q) = %v, %q, %v", tt.in, pos, rest, ok)
		}
	}
	if p, ok := FindPos("    at In[7]:12:3 (f)"); !ok || p != (Pos{7, 12, 3}) {
		t.Errorf("FindPos = %v, %v", p, ok)
	}
	if got := NormalizePositions("In[2]/_.go:3:4: x; In[5]/_.go:1: y"); got != "In[2]:3:4: x; In[5]:1: y" {
		t.Errorf("NormalizePositions = %q", got)
	}
}

func TestParseFile(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    int
		ok   bool
	}{
		{File(0), 0, true},
		{File(42), 42, true},
		{"In[]", 0, false},
		{"In[-1]", 0, false},
		{"In[+1]", 0, false},
		{"In[3]/_.go", 0, false},
		{"In[3]:5", 0, false},
		{"main.go", 0, false},
	} {
		if n, ok := ParseFile(tt.name); n != tt.n || ok != tt.ok {
			t.Errorf("ParseFile(%q) = %d, %v; want %d, %v", tt.name, n, ok, tt.n, tt.ok)
		}
	}
}

func TestParseText(t *testing.T) {
	for _, tt := range []struct {
		kind      Kind
		text      string
		span      string // the text of the first call
		line, col int    // its position
	}{
		{Statement, "x := 1\n  f(x)", "f(x)", 2, 3},
		{Expression, "g(1)", "g(1)", 1, 1},
		{Declaration, "func h() {\n\tk()\n}", "k()", 2, 2},
		{Import, `import "fmt"`, "", 0, 0},
	} {
		pt, err := ParseText(tt.kind, tt.text, 0)
		if err != nil {
			t.Fatalf("%q: %v", tt.text, err)
		}
		var call *ast.CallExpr
		ast.Inspect(pt.File, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok && call == nil {
				call = c
			}
			return call == nil
		})
		if call == nil {
			if tt.span != "" {
				t.Errorf("%q: no call found", tt.text)
			}
			continue
		}
		l, c := pt.LineCol(call.Pos())
		if got := pt.Source(call); got != tt.span || l != tt.line || c != tt.col {
			t.Errorf("%q: call %q at %d:%d, want %q at %d:%d", tt.text, got, l, c, tt.span, tt.line, tt.col)
		}
	}
	if _, err := ParseText(Statement, "x := ", 0); err == nil {
		t.Error("a broken statement parsed")
	}
}

func TestDeclaredNames(t *testing.T) {
	for _, tt := range []struct {
		src         string
		names, keys string
	}{
		{"func f() {}", "f", "f"},
		{"func (s *S[T]) M() {}", "", "S.M"},
		{"var a, b = 1, 2", "a b", "a b"},
		{"type (\n\tT int\n\tU[K comparable] map[K]int\n)", "T U", "T U"},
		{"const c = 1", "c", "c"},
		{`import "fmt"`, "", ""},
	} {
		kind := Declaration
		if strings.HasPrefix(tt.src, "import") {
			kind = Import
		}
		pt, err := ParseText(kind, tt.src, 0)
		if err != nil {
			t.Fatalf("%q: %v", tt.src, err)
		}
		d := pt.File.Decls[0]
		if got := strings.Join(DeclaredNames(d), " "); got != tt.names {
			t.Errorf("DeclaredNames(%q) = %q, want %q", tt.src, got, tt.names)
		}
		if got := strings.Join(StoreKeys(d), " "); got != tt.keys {
			t.Errorf("StoreKeys(%q) = %q, want %q", tt.src, got, tt.keys)
		}
	}
}
