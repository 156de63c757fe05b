package interp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/modules"
)

// fakePackages is an Importer with one plugin package, source packages
// laid out under a GOPATH, and failures.
type fakePackages struct {
	gopath string
	calls  map[string]int
}

func (f *fakePackages) GoPath() string { return f.gopath }

func (f *fakePackages) Import(ctx context.Context, path string, progress io.Writer) (*modules.Package, error) {
	f.calls[path]++
	fmt.Fprintf(progress, "go: using %s v1.0.0\n", path)
	switch path {
	case "example.test/hashing/v2":
		return &modules.Package{Path: path, Name: "hashing", Symbols: map[string]map[string]reflect.Value{
			path + "/hashing": {"Double": reflect.ValueOf(func(x int) int { return 2 * x })},
		}, Generic: map[string]bool{"Map": true}}, nil
	case "example.test/src", "example.test/broken":
		return &modules.Package{Path: path, Name: filepath.Base(path), Why: "the plugin did not load: test"}, nil
	case "example.test/slow":
		<-ctx.Done()
		return nil, fmt.Errorf("go get was interrupted: %w", context.Canceled)
	}
	return nil, errors.New(`cannot import "` + path + `": the go command could not obtain its module: go: module lookup disabled by GOPROXY=off`)
}

func TestImportThroughImporter(t *testing.T) {
	gopath := t.TempDir()
	for name, src := range map[string]string{
		"src/example.test/src/src.go":       "package src\n\nfunc Triple(x int) int { return 3 * x }\n",
		"src/example.test/broken/broken.go": "package broken\n\nfunc F() int { return \"x\" }\n",
	} {
		p := filepath.Join(gopath, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fake := &fakePackages{gopath: gopath, calls: map[string]int{}}
	i, err := New(Options{Packages: fake})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { i.Close() })
	imp := func(src string) step { return step{kind: cell.Import, src: src} }
	runSteps(t, i, []step{
		{kind: cell.Import, src: `import "example.test/hashing/v2"`, stdout: "go: using example.test/hashing/v2 v1.0.0"},
		ex("hashing.Double(21)", "42"),
		imp(`import h "example.test/hashing/v2"`),
		ex("h.Double(2)", "4"),
		fails(ex("hashing.Map(1)", ""), "hashing.Map is generic"),
		fails(ex("hashing.Nothing(1)", ""), `has no symbol Nothing`),
		imp(`import "example.test/src"`),
		ex("src.Triple(3)", "9"),
		// A package only the magics can use: the import succeeds with a
		// warning (so that it is stored for the magics); a use says why.
		{kind: cell.Import, src: `import "example.test/broken"`, stderr: `cannot import "example.test/broken" in interpreted cells: no plugin (the plugin did not load: test), and the interpreter could not read its source`},
		fails(ex("broken.F()", ""), `broken is package "example.test/broken", which interpreted cells cannot use: no plugin (the plugin did not load: test)`),
		fails(imp(`import "example.test/missing"`), "ImportError: cannot import \"example.test/missing\": the go command could not obtain its module: go: module lookup disabled by GOPROXY=off"),
		fails(imp(`import "github.com/google/uuid"`), "could not obtain its module"),
		imp(`import "strings"`),
		// A redefined type rebuilds the interpreter: the plugin's
		// package must still be there.
		dc("type T int"),
		dc("type T string"),
		ex("hashing.Double(5)", "10"),
	})
	if fake.calls["strings"] != 0 {
		t.Errorf("the importer was asked for a standard package")
	}
}

func TestImportInterruptedThroughImporter(t *testing.T) {
	i, err := New(Options{Packages: &fakePackages{gopath: t.TempDir(), calls: map[string]int{}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { i.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = i.Eval(ctx, cell.Item{Kind: cell.Import, Source: `import "example.test/slow"`, Line: 1}, 1, newPub())
	if err == nil || !strings.Contains(err.Error(), "Interrupted") {
		t.Fatalf("interrupted import: %v, want Interrupted", err)
	}
	v, _, err := i.Eval(context.Background(), cell.Item{Kind: cell.Expression, Source: "1 + 1", Line: 1}, 2, newPub())
	if err != nil || fmt.Sprint(v) != "2" {
		t.Errorf("after the interrupt: %v, %v", v, err)
	}
}
