package session

import (
	"context"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/kernel"
	"github.com/perfnb/perfnb/kernel/kerneltest"
)

// TestWithInterpreter runs cells through the real yaegi interpreter.
func TestWithInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the interpreter")
	}
	s := New(Options{Version: "test"})
	defer s.Shutdown(false)
	tests := []struct {
		code   string
		plain  string // text/plain of the value; "" for none
		stdout string
		errVal string // a part of the error's value; "" for success
	}{
		{"1 + 2 + 3", "6", "", ""},
		{"[]int{1, 4, 9}", "[1 4 9]", "", ""},
		{"fmt.Println(\"hello, world\")", "", "hello, world\n", ""},
		{"import \"strings\"\ntype T struct{ S string }\nfunc (t T) Up() string { return strings.ToUpper(t.S) }\nt := T{\"go\"}\nfmt.Println(t.Up())\nt.Up()", "GO", "GO\n", ""},
		{"func (t T) Up() string { return \"redefined \" + t.S }\nt.Up()", "redefined go", "", ""},
		{"x := 1\n%nosuch", "", "", "`%nosuch` not found"},
		{"y := 2\nundefinedThing()", "", "", "In[7]:2:1: undefined: undefinedThing"},
		{"y", "", "", "In[8]:1:1: undefined: y"}, // a cell that does not compile defines nothing
		{"zzz", "", "", "undefined"},
		{"x8 := 5\npanic(\"p\")", "", "", "p"},
		{"x8", "5", "", ""}, // ran before the panic: kept, in the store too

		// A defer at the cell's top level runs when the cell ends, once.
		{"defer fmt.Println(\"deferred\")\nfmt.Println(\"body\")", "", "body\ndeferred\n", ""}, // two writes
		{"fmt.Println(\"next\")", "", "next\n", ""},
		{"defer panic(\"in defer\")\nq := 1", "", "", "in defer"},
	}
	for i, tt := range tests {
		pub := &kerneltest.Publisher{}
		res := s.Execute(context.Background(), kernel.ExecuteRequest{Code: tt.code, StoreHistory: true, ExecutionCount: i + 1}, pub)
		if tt.errVal != "" {
			if res.Error == nil || !strings.Contains(res.Error.Value, tt.errVal) {
				t.Errorf("In[%d] %q: error %+v, want one containing %q", i+1, tt.code, res.Error, tt.errVal)
			}
			continue
		}
		if res.Error != nil {
			t.Errorf("In[%d] %q: error %+v", i+1, tt.code, res.Error)
			continue
		}
		got, _ := res.Data["text/plain"].(string)
		if got != tt.plain {
			t.Errorf("In[%d] %q: value %q, want %q", i+1, tt.code, got, tt.plain)
		}
		if out, errOut := pub.Text("stdout"), pub.Text("stderr"); tt.stdout != "" && (out != tt.stdout || errOut != "") {
			t.Errorf("In[%d] %q: stdout %q, stderr %q, want stdout %q", i+1, tt.code, out, errOut, tt.stdout)
		}
	}
	if d, ok := s.Store().Lookup("T.Up"); !ok || d.Cell != 5 {
		t.Errorf("T.Up in the store: %+v, %v; want it from In[5]", d, ok)
	}
	if d, ok := s.Store().Lookup("x"); !ok || d.Cell != 6 {
		t.Errorf("x, which ran before the failing magic of In[6], is not stored: %+v, %v", d, ok)
	}
	if in := s.Inspect("t.Up()", 1, 0); !in.Found || !strings.Contains(in.Data["text/plain"].(string), "var t = T{\"go\"}") {
		t.Errorf("Inspect(t) = %+v", in)
	}
}
