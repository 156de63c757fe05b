package profiles

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// inlineProgram calls sort.Search, which the compiler inlines into get;
// //line gives get the file and lines of a cell, as perfnb compiles
// cells.
const inlineProgram = `package main

import (
	"os"
	"sort"
)

//line In[1]:1:1
func get(keys []string, k string) int {
	i := sort.Search(len(keys), func(i int) bool { return keys[i] >= k })
	return i
}
//line main.go:16:1
func main() { os.Exit(get(os.Args, "x")) }
`

// TestRestoreInlined builds a program whose get inlines sort.Search, and
// gives RestoreInlined a profile of it as runtime/pprof writes one when
// it loses an inlined frame: at an instruction of sort.Search's body,
// get's function with sort/search.go's line number (In[1]:65, in a cell
// of four lines). The frame of sort.Search comes back, called from get's
// line 2, as another location of the profile shows it.
func TestRestoreInlined(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if goCmd = "/usr/local/go/bin/go"; !fileExists(goCmd) {
			t.Skip("no Go toolchain")
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(inlineProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module inl\n\ngo 1.22\n"), 0o644)
	bin := filepath.Join(dir, "inl")
	cmd := exec.Command(goCmd, "build", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	lt, err := openLineTable(bin)
	if err != nil {
		t.Fatal(err)
	}
	// An instruction of get whose line is sort.Search's.
	var addr uint64
	var searchFile string
	text := lt.f.Section(".text")
	for pc := text.Addr; addr == 0 && pc < text.Addr+text.Size; pc++ {
		file, _, fn := lt.table.PCToLine(pc)
		if fn != nil && fn.Name == "main.get" && strings.HasSuffix(file, "sort/search.go") {
			addr, searchFile = pc, file
		}
	}
	lt.close()
	if addr == 0 {
		t.Fatal("no instruction of sort.Search inlined into get")
	}
	get := &profile.Function{ID: 1, Name: "main.get", Filename: "In[1]", StartLine: 1}
	search := &profile.Function{ID: 2, Name: "sort.Search", Filename: searchFile, StartLine: 58}
	m := &profile.Mapping{ID: 1, Start: 0, Limit: ^uint64(0), File: bin}
	lost := &profile.Location{ID: 1, Mapping: m, Address: addr, Line: []profile.Line{{Function: get, Line: 65}}}
	whole := &profile.Location{ID: 2, Mapping: m, Address: addr + 1, Line: []profile.Line{{Function: search, Line: 66}, {Function: get, Line: 2}}}
	p := &profile.Profile{Mapping: []*profile.Mapping{m}, Function: []*profile.Function{get, search}, Location: []*profile.Location{lost, whole}}
	n, err := RestoreInlined(p, bin)
	if err != nil || n != 1 {
		t.Fatalf("RestoreInlined: %d locations, %v; want 1", n, err)
	}
	if got := lost.Line; len(got) != 2 || got[0].Function != search || got[0].Line != 65 || got[1].Function != get || got[1].Line != 2 {
		t.Errorf("the location reads %v, want sort.Search:65 inlined at get's line 2", lineNames(got))
	}
	if len(whole.Line) != 2 {
		t.Errorf("a whole location changed: %v", lineNames(whole.Line))
	}
}

func lineNames(ls []profile.Line) []string {
	var out []string
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%s:%d", l.Function.Name, l.Line))
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
