package scalene

import (
	"context"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/magics/profiles"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/native"
)

// indexDecls are an earlier cell (In[1], 12 lines) whose Get calls
// sort.Search, which the compiler inlines into it, with the closure
// sort.Search calls.
var indexDecls = []cell.Decl{
	{Kind: cell.ImportDecl, Name: "sort", Cell: 1, Line: 1, Source: `import "sort"`},
	{Kind: cell.TypeDecl, Name: "index", Cell: 1, Line: 3, Source: "type index struct{ keys []int }"},
	{Kind: cell.MethodDecl, Name: "index.Get", Cell: 1, Line: 5, Source: "func (x *index) Get(k int) bool {\n" +
		"\ti := sort.Search(len(x.keys), func(i int) bool { return x.keys[i] >= k })\n" +
		"\treturn i < len(x.keys) && x.keys[i] == k\n}"},
	{Kind: cell.FuncDecl, Name: "newIndex", Cell: 1, Line: 10, Source: "func newIndex(n int) *index {\n\tx := &index{}\n\tfor i := range n { x.keys = append(x.keys, 2*i) }\n\treturn x\n}"},
}

// TestInlinedStandardLibraryLines profiles a function that calls an
// inlined function of the standard library (sort.Search in Get): every
// line the table shows is a line of its cell, sort.Search's time is
// Get's line 6 (the call), and the saved profile names no line of a
// cell that the cell does not have (runtime/pprof would write
// In[1]:65, sort/search.go's line, where it loses the inlined frame).
func TestInlinedStandardLibraryLines(t *testing.T) {
	ws := magicstest.Workspace(t)
	pdir := t.TempDir()
	t.Setenv(profiles.DirEnv, pdir)
	pub := &kerneltest.Publisher{}
	env := magics.Env{Decls: indexDecls, Publisher: pub, Workspace: func() (*native.Workspace, error) { return ws, nil }}
	body := "x := newIndex(4096)\nn := 0\nfor k := range 100000 {\n\tif x.Get(k) {\n\t\tn++\n\t}\n}\n_ = n\n"
	call := magics.Call{Magic: cell.Magic{Name: "scalene", Cell: true, Args: "--cpu-only --no-flamegraph --duration 1s", Body: body, Line: 1, BodyLine: 2}, Count: 2}
	if _, err := New().Run(context.Background(), call, env); err != nil {
		t.Fatal(err)
	}
	text := pub.Displays()[0]["text/plain"].(string)
	t.Log("\n" + text)
	// Lines of cell 1: 1 to 14; of the body, cell 2: 2 to 9.
	for _, l := range strings.Split(text, "\n") {
		label, _, ok := strings.Cut(l, " │")
		if !ok {
			continue
		}
		label = strings.TrimSpace(label)
		switch {
		case label == "" || label == "Line" || label == "..." || strings.Trim(label, "─") == "":
		case strings.HasPrefix(label, "In[1]:"):
			if n := lineNumber(label); n < 1 || n > 14 {
				t.Errorf("the table shows %s; cell 1 has 14 lines", label)
			}
		default:
			if n := lineNumber(label); n < 2 || n > 9 {
				t.Errorf("the table shows line %s of the body, which is lines 2 to 9", label)
			}
		}
	}
	if self := cellOf(t, text, "In[1]:6", "Self Go"); self == "" {
		t.Errorf("Get's call of sort.Search has no time of its own:\n%s", text)
	}
	p, err := profiles.Read(onlyFile(t, pdir, "perfnb.cell2.cpu.*.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range p.Location {
		for _, ln := range loc.Line {
			// (The benchmark's own lines, generated around the body, are
			// named after its first frame's file.)
			if fn := ln.Function; fn.Filename == "In[1]" && (ln.Line < 1 || ln.Line > 14) && !strings.Contains(fn.Name, ".Benchmark") {
				t.Errorf("the saved profile has %s at In[1]:%d; cell 1 has 14 lines", fn.Name, ln.Line)
			}
		}
	}
}

// lineNumber is the line of a table label: 6 for "In[1]:6" or "6"; 0 for
// none.
func lineNumber(label string) int {
	if _, l, ok := strings.Cut(label, ":"); ok {
		label = l
	}
	n := 0
	for _, c := range label {
		if c < '0' || c > '9' {
			return 0
		}
		n = 10*n + int(c-'0')
	}
	return n
}
