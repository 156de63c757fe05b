package native

import (
	"context"
	"debug/elf"
	"errors"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/runtime/cell"
)

// TestBuildCompilerOptions builds with extra compiler flags and with the
// symbol table: the compiler's diagnostics come back naming cell lines,
// the symbols are in the binary only when asked for, and a compile error
// under the diagnostics' flags is still only the error.
func TestBuildCompilerOptions(t *testing.T) {
	w := newTestWorkspace(t)
	decls := []cell.Decl{{Kind: cell.VarDecl, Name: "sink", Cell: 1, Line: 1, Source: "var sink any"}}
	body := Snippet{Source: "x := []int{1, 2, 3}\nsink = &x", Cell: 3, Line: 2}
	tests := []struct {
		name     string
		gcflags  []string
		symbols  bool
		wantDiag string
	}{
		{"plain", nil, false, ""},
		{"diagnostics and symbols", []string{"-m=2"}, true, "moved to heap: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin, err := w.Build(context.Background(), Program{Decls: decls, GCFlags: tt.gcflags, Symbols: tt.symbols,
				Benchmarks: []Benchmark{{Name: "Cell", Body: body}}})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, l := range strings.Split(bin.CompilerOutput, "\n") {
				found = found || tt.wantDiag != "" && strings.HasPrefix(l, "In[3]:2") && strings.HasSuffix(l, tt.wantDiag)
			}
			if tt.wantDiag == "" && strings.Contains(bin.CompilerOutput, "In[") || tt.wantDiag != "" && !found {
				t.Errorf("compiler output lacks In[3]:2…%s:\n%.2000s", tt.wantDiag, bin.CompilerOutput)
			}
			f, err := elf.Open(bin.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if has := f.Section(".symtab") != nil; has != tt.symbols {
				t.Errorf("symbol table present: %v, want %v", has, tt.symbols)
			}
		})
	}
	_, err := w.Build(context.Background(), Program{GCFlags: []string{"-m=2"},
		Benchmarks: []Benchmark{{Name: "Cell", Body: Snippet{Source: "y := undefinedThing + 1", Cell: 3, Line: 2}}}})
	var e *Error
	if !errors.As(err, &e) || e.Kind != CompileFailed || e.Summary != "In[3]:2:6: undefined: undefinedThing" || len(e.Lines) != 1 {
		t.Errorf("compile error under -m=2: %#v", err)
	}
}
