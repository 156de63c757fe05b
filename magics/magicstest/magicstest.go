// Package magicstest helps test magics that build and run native code.
package magicstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/native"
)

// Workspace returns a native workspace in a temporary directory, closed
// when the test ends. It skips the test under -short (building and
// running child processes takes seconds) and when there is no Go
// toolchain.
func Workspace(t testing.TB) *native.Workspace {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs child processes with the Go toolchain")
	}
	if _, err := exec.LookPath("go"); err != nil {
		if _, err := os.Stat("/usr/local/go/bin/go"); err != nil {
			t.Skip("no Go toolchain")
		}
	}
	ws, err := native.NewWorkspace(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// WorkspaceFunc returns Workspace(t) as a magics.Env's Workspace.
func WorkspaceFunc(t testing.TB) func() (*native.Workspace, error) {
	t.Helper()
	ws := Workspace(t)
	return func() (*native.Workspace, error) { return ws, nil }
}

// Call returns the call of the magic that starts the cell src (its first
// item), as the kernel makes it: parsed by runtime/cell, so that its
// lines and argument column are those of the cell.
func Call(t testing.TB, count int, src string) magics.Call {
	t.Helper()
	items, err := cell.Parse(src)
	if err != nil {
		t.Fatalf("parsing %q: %v", src, err)
	}
	for _, it := range items {
		if it.Magic != nil {
			return magics.Call{Magic: *it.Magic, Count: count}
		}
	}
	t.Fatalf("no magic in %q", src)
	return magics.Call{}
}

// Golden compares got with the file testdata/name, or first rewrites the
// file with got when update is set (each package's -update flag).
func Golden(t testing.TB, name, got string, update bool) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n got %s\nwant %s", name, got, want)
	}
}
