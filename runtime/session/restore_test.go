package session

import (
	"context"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
)

// TestRestore: the declarations of one session, restored in a fresh one,
// define the same names, quietly, with their own cell positions; the ones
// that fail are reported.
func TestRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the interpreter")
	}
	old := New(Options{Version: "test"})
	defer old.Shutdown(false)
	cells := []string{
		"import str \"strings\"\nx := 41\nfmt.Println(\"side effect\")",
		"type T struct{ A int }\nfunc (t T) Twice() int { return 2 * t.A }",
		"func f() int { return 0 }\nfunc g() int { return f() + 1 }",
		// f is replaced in its place, before h, which it now uses.
		"func h() int { return x }\nfunc f() int { return h() }\nfunc boom() int { panic(\"at restore\") }",
	}
	for i, c := range cells {
		old.Execute(context.Background(), protocol.ExecuteRequest{Code: c, ExecutionCount: i + 1}, &kerneltest.Publisher{})
	}
	decls := append(old.Decls(), cell.Decl{Kind: cell.VarDecl, Name: "bad", Source: "var bad = nosuch()", Cell: 7, Line: 2})

	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	errs := s.Restore(context.Background(), decls)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "bad (In[7]:2) ") {
		t.Errorf("restore errors: %v, want one for bad", errs)
	}
	if got, want := len(s.Decls()), len(decls)-1; got != want {
		t.Errorf("the store holds %d declarations after the restore, want %d", got, want)
	}
	pub := &kerneltest.Publisher{}
	res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: "str.ToUpper(\"go\") + fmt.Sprint(g(), T{A: 3}.Twice())", ExecutionCount: 9}, pub)
	if res.Error != nil || res.Data["text/plain"] != "GO42 6" {
		t.Errorf("after restore: %+v %v", res.Error, res.Data)
	}
	if out := pub.Text("stdout"); out != "" {
		t.Errorf("restoring printed %q", out)
	}
	res = s.Execute(context.Background(), protocol.ExecuteRequest{Code: "boom()", ExecutionCount: 10}, pub)
	if res.Error == nil || !strings.Contains(strings.Join(res.Error.Traceback, "\n"), "In[4]") {
		t.Errorf("a restored function's panic does not name its cell: %+v", res.Error)
	}
}
