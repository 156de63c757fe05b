package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// labModule is the module the kernels of test_modules.py start in (in its
// notebooks/ folder): a package measured and edited, a package that does
// not build, and a cgo package.
var labModule = map[string]string{
	"go.mod":          "module example.test/lab\n\ngo 1.24\n",
	"notebooks/.keep": "",
	"sum/sum.go": `// Package sum is measured from the notebook.
package sum

// Loop adds 0..n-1.
func Loop(n int) int {
	t := 0
	for i := 0; i < n; i++ {
		t += i
	}
	return t
}

// Grow returns a slice of n ints (8n bytes), every page written.
func Grow(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
`,
	"sum/work.go": `package sum

// passes is how many times Work does Base's work; the test edits it.
const passes = 1

// Passes reports passes, as compiled.
func Passes() int { return passes }

// Base adds up 0..n-1 once.
func Base(n int) int { return Loop(n) }

// Work adds up 0..n-1 passes times.
func Work(n int) int {
	t := 0
	for p := 0; p < passes; p++ {
		t += Loop(n + t&1)
	}
	return t
}
`,
	"asm/add.go":       "// Package asm adds in assembly.\npackage asm\n\n// Add returns a+b.\nfunc Add(a, b int) int\n",
	"asm/add_amd64.s":  "#include \"textflag.h\"\n\nTEXT ·Add(SB), NOSPLIT, $0-24\n\tMOVQ a+0(FP), AX\n\tADDQ b+8(FP), AX\n\tMOVQ AX, ret+16(FP)\n\tRET\n",
	"broken/broken.go": "package broken\n\nfunc F() int { return \"x\" }\n",
	"withc/withc.go":   "package withc\n\n// int twice(int x) { return 2*x; }\nimport \"C\"\n\n// Twice doubles x in C.\nfunc Twice(x int) int { return int(C.twice(C.int(x))) }\n",
}

// TestModules checks packages outside the standard library through
// jupyter_client: the notebook's module and a third-party module, in
// interpreted cells and in the magics, and their failures. See
// test_modules.py.
func TestModules(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	for name, content := range labModule {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	withModule := *e
	withModule.environ = append(slices.Clip(e.environ), "PERFNB_E2E_MODULE="+dir)
	withModule.runChecks(t, 15*time.Minute, "test_modules.py")
}

// TestRunInNotebookFolder checks that `perfnb run`, started elsewhere,
// runs a notebook in its folder, as Jupyter starts a kernel there: the
// folder's module resolves, and relative file names are the folder's.
func TestRunInNotebookFolder(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":              labModule["go.mod"],
		"sum/sum.go":          labModule["sum/sum.go"],
		"notebooks/data.txt":  "from the notebook's folder\n",
		"notebooks/run.ipynb": runNotebook,
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	elsewhere := t.TempDir()
	out := filepath.Join(elsewhere, "out.ipynb")
	cmd := exec.Command(e.bin, "run", filepath.Join(dir, "notebooks", "run.ipynb"), "-o", "out.ipynb")
	cmd.Dir = elsewhere
	cmd.Env = append(slices.Clip(e.environ), "GOPROXY=off")
	progress, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("perfnb run: %v\n%s", err, progress)
	}
	for _, want := range []string{"Out[1]: 45", "from the notebook's folder"} {
		if !strings.Contains(string(progress), want) {
			t.Errorf("perfnb run printed no %q:\n%s", want, progress)
		}
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("-o out.ipynb is not relative to where perfnb run was started: %v", err)
	}
}

// runNotebook imports the folder's module's package and reads a file by a
// relative name.
const runNotebook = `{"nbformat": 4, "nbformat_minor": 5,
 "metadata": {"kernelspec": {"name": "perfnb", "display_name": "Go (perfnb)", "language": "go"}},
 "cells": [
  {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": null, "outputs": [],
   "source": "import \"example.test/lab/sum\"\n\nsum.Loop(10)"},
  {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": null, "outputs": [],
   "source": "b, err := os.ReadFile(\"data.txt\")\nif err != nil {\n\tpanic(err)\n}\nfmt.Print(string(b))"}
 ]}`
