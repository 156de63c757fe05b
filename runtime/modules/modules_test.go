package modules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaegi "github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

// TestMain serves ExtractArg, so that the test binary is the symbol
// extractor of the plugins its tests build, as perfnb is the kernel's.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ExtractArg {
		if err := ExtractMain(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// selfExtractor is the Extractor of the tests' notebooks: this binary.
func selfExtractor(t *testing.T) []string {
	t.Helper()
	x, err := SelfExtractor()
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// writeFiles writes files (path relative to dir: content) below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// offline is the environment of the tests' go commands: no network.
func offline(extra ...string) []string {
	return append(append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod"), extra...)
}

// lab is a test module with a package, a package that does not build,
// and a cgo package.
var lab = map[string]string{
	"go.mod": "module example.test/lab\n\ngo 1.24\n",
	"sum/sum.go": `// Package sum adds numbers.
package sum

// Loop adds 0..n-1.
func Loop(n int) int {
	t := 0
	for i := range n {
		t += i
	}
	return t
}
`,
	"broken/broken.go": "package broken\n\nfunc F() int { return \"x\" }\n",
	"withc/withc.go":   "package withc\n\n// int twice(int x) { return 2*x; }\nimport \"C\"\n\nfunc Twice(x int) int { return int(C.twice(C.int(x))) }\n",
	"notebooks/README": "the notebooks' folder\n",
}

func openLab(t *testing.T, env []string) (*Notebook, string) {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, lab)
	n, err := Open(context.Background(), Options{Folder: filepath.Join(root, "notebooks"), StateDir: t.TempDir(), Environ: env, Extractor: selfExtractor(t)})
	if err != nil {
		t.Fatal(err)
	}
	return n, root
}

func TestOpenFindsTheModule(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"mod/go.mod":       "module example.test/mod\n\ngo 1.24\n",
		"mod/deep/x/a.go":  "package x\n",
		"ws/go.work":       "go 1.24\n\nuse ./a\nuse ./b\n",
		"ws/a/go.mod":      "module example.test/a\n\ngo 1.24\n",
		"ws/b/go.mod":      "module example.test/b\n\ngo 1.24\n",
		"plain/notebook.x": "",
	})
	tests := []struct {
		folder   string
		wantPath string   // the user's module path
		wantUses []string // directories the go.work must use, relative to root
	}{
		{"mod/deep/x", "example.test/mod", []string{"mod"}},
		{"ws/a", "example.test/a", []string{"ws/a", "ws/b"}},
		{"plain", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.folder, func(t *testing.T) {
			state := t.TempDir()
			n, err := Open(context.Background(), Options{Folder: filepath.Join(root, tt.folder), StateDir: state, Environ: offline()})
			if err != nil {
				t.Fatal(err)
			}
			_, path, err := n.UserModule(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if path != tt.wantPath {
				t.Errorf("module path %q, want %q", path, tt.wantPath)
			}
			work, err := os.ReadFile(filepath.Join(state, "go.work"))
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range append(tt.wantUses, "") {
				dir := filepath.Join(root, u)
				if u == "" {
					dir = state
				}
				if !strings.Contains(string(work), "\t"+dir+"\n") && !strings.Contains(string(work), "use "+dir+"\n") {
					t.Errorf("go.work does not use %s:\n%s", dir, work)
				}
			}
			if _, err := os.Stat(filepath.Join(state, "go.mod")); err != nil {
				t.Errorf("no notebook module: %v", err)
			}
		})
	}
}

func TestImportOwnPackageAsPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	n, _ := openLab(t, offline())
	var progress strings.Builder
	p, err := n.Import(context.Background(), "example.test/lab/sum", &progress)
	if err != nil {
		t.Fatalf("Import: %v\n%s", err, progress.String())
	}
	if p.Name != "sum" || p.Symbols == nil {
		t.Fatalf("got name %q, symbols %v (why: %s)", p.Name, p.Symbols != nil, p.Why)
	}
	if !strings.Contains(progress.String(), "go: using example.test/lab") {
		t.Errorf("progress does not name the module:\n%s", progress.String())
	}
	yi := yaegi.New(yaegi.Options{})
	if err := yi.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	if err := yi.Use(p.Symbols); err != nil {
		t.Fatal(err)
	}
	if _, err := yi.Eval(`import "example.test/lab/sum"`); err != nil {
		t.Fatal(err)
	}
	v, err := yi.Eval(`sum.Loop(100)`)
	if err != nil || v.Interface() != 4950 {
		t.Fatalf("sum.Loop(100) = %v, %v; want 4950", v, err)
	}
	again, err := n.Import(context.Background(), "example.test/lab/sum", nil)
	if err != nil || again != p {
		t.Errorf("a second Import gave %v, %v; want the first package", again, err)
	}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name, path string
		env        []string
		want       []string // in the error
	}{
		{"module that cannot be obtained offline", "github.com/nobody-here/nothing", nil,
			[]string{"cannot import", "could not obtain its module", "GOPROXY=off"}},
		{"package missing from the module", "example.test/lab/nothere", nil,
			[]string{"module example.test/lab has no such package", "nothere"}},
		{"package that does not build", "example.test/lab/broken", nil,
			[]string{"does not build", "broken.go:3"}},
		{"cgo package without a C compiler", "example.test/lab/withc", []string{"CC=/nonexistent/cc"},
			[]string{"does not build", "uses cgo", "C compiler"}},
		{"program", "example.test/lab/cmd", nil, []string{"package main"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, root := openLab(t, offline(tt.env...))
			writeFiles(t, root, map[string]string{"cmd/main.go": "package main\n\nfunc main() {}\n"})
			_, err := n.Import(context.Background(), tt.path, nil)
			if err == nil {
				t.Fatal("Import succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestImportInterrupted(t *testing.T) {
	n, _ := openLab(t, offline())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := n.Import(ctx, "example.test/lab/sum", nil)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("Import with a cancelled context: %v, want an interruption", err)
	}
}

func TestSourceProblem(t *testing.T) {
	tests := []struct {
		name string
		pkgs []*listed
		want string
	}{
		{"pure Go", []*listed{{ImportPath: "a"}}, ""},
		{"standard cgo ignored", []*listed{{ImportPath: "runtime/cgo", Standard: true, CgoFiles: []string{"x.go"}}, {ImportPath: "a"}}, ""},
		{"cgo", []*listed{{ImportPath: "a", CgoFiles: []string{"c.go"}}}, "a uses cgo"},
		{"assembly", []*listed{{ImportPath: "b", SFiles: []string{"x_amd64.s"}}}, "b has assembly (x_amd64.s)"},
	}
	for _, tt := range tests {
		if got := sourceProblem(tt.pkgs); !strings.HasPrefix(got, tt.want) || (tt.want == "") != (got == "") {
			t.Errorf("%s: sourceProblem = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestHostCheck(t *testing.T) {
	h := host{goVersion: "go1.26.8", cgo: true, deps: map[string]string{"github.com/google/uuid": "v1.6.0"}}
	mod := func(path, version string) *listed {
		p := &listed{ImportPath: path + "/x"}
		p.Module = &struct {
			Path    string
			Version string
			Main    bool
			Dir     string
			Replace *struct {
				Path    string
				Version string
			}
		}{Path: path, Version: version}
		return p
	}
	tests := []struct {
		name      string
		h         host
		toolchain string
		pkgs      []*listed
		want      string
	}{
		{"same versions", h, "go1.26.8", []*listed{mod("github.com/google/uuid", "v1.6.0")}, ""},
		{"other toolchain", h, "go1.27.0", nil, "toolchain mismatch"},
		{"version conflict", h, "go1.26.8", []*listed{mod("github.com/google/uuid", "v1.3.0")}, "version conflict: github.com/google/uuid/x needs github.com/google/uuid v1.3.0"},
		{"no cgo", host{goVersion: "go1.26.8"}, "go1.26.8", nil, "CGO_ENABLED=0"},
	}
	for _, tt := range tests {
		err := tt.h.check(tt.toolchain, tt.pkgs)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestUserEnv(t *testing.T) {
	n := &Notebook{environ: []string{"GOFLAGS=-mod=mod -tags=x", "GOPROXY=https://example.test", "GOWORK=/x/go.work", "HOME=/h"}}
	env := strings.Join(n.Env("/w/go.work"), "\n")
	for _, want := range []string{"GOFLAGS=-tags=x -buildvcs=false", "GOPROXY=https://example.test", "GOWORK=/w/go.work", "GOTOOLCHAIN=local", "HOME=/h"} {
		if !strings.Contains(env+"\n", want+"\n") {
			t.Errorf("env lacks %q:\n%s", want, env)
		}
	}
	if strings.Contains(env, "/x/go.work") || strings.Contains(env, "-mod=mod") {
		t.Errorf("env keeps the user's GOWORK or -mod:\n%s", env)
	}
}

func TestGenericNames(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.go":      "package a\n\nfunc Map[T any](x T) T { return x }\nfunc Plain() {}\ntype Stack[T any] struct{ xs []T }\ntype Int int\nfunc (s *Stack[T]) Push(x T) {}\nfunc hidden[T any]() {}\n",
		"a_test.go": "package a\n\nfunc TestOnly[T any]() {}\n",
	})
	got := genericNames(dir)
	want := map[string]bool{"Map": true, "Stack": true}
	if len(got) != len(want) || !got["Map"] || !got["Stack"] {
		t.Errorf("genericNames = %v, want %v", got, want)
	}
}

func TestNoExtractorMeansSource(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, lab)
	n, err := Open(context.Background(), Options{Folder: filepath.Join(root, "notebooks"), StateDir: t.TempDir(), Environ: offline()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := n.Import(context.Background(), "example.test/lab/sum", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Symbols != nil || !strings.Contains(p.Why, "no symbol extractor") {
		t.Errorf("without an Extractor: symbols %v, why %q; want the source, and why", p.Symbols != nil, p.Why)
	}
}

func TestExtractMain(t *testing.T) {
	var out strings.Builder
	if err := ExtractMain([]string{"strings"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"Builder"`) {
		t.Errorf("the symbol table of strings has no Builder:\n%.300s", out.String())
	}
	if err := ExtractMain(nil, &out); err == nil {
		t.Error("ExtractMain without a package: no usage error")
	}
}
