package native

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // the display stub
	"encoding/hex"
	"fmt"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/perfnb/perfnb/internal/gotool"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/display"
	"github.com/perfnb/perfnb/runtime/harness"
)

// keepBinaries is how many of the latest test binaries a workspace keeps;
// older ones are removed when a build succeeds.
const keepBinaries = 8

// displayStub is the workspace's perfnbcell/display package, with
// runtime/display's bundle.go: displays of a compiled cell go through the
// harness to the notebook; a magic's child drops them.
//
//go:embed displaystub/display.go
var displayStub string

func newWorkspace(parent string) (*Workspace, error) {
	goCmd, err := gotool.Find(os.Environ())
	if err != nil {
		return nil, fmt.Errorf("native measurement needs the Go toolchain: %w", err)
	}
	version, err := gotool.Version(goCmd)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "perfnb-native-")
	if err != nil {
		return nil, fmt.Errorf("creating the native workspace: %w", err)
	}
	w := &Workspace{dir: dir, goCmd: goCmd, goVersion: version}
	if err := w.populate(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return w, nil
}

// goEnv is the environment of the go command for a workspace without
// modules (see UseModules): the user's, with the build and module caches
// it names, but never a download (the workspace only uses the standard
// library and its own packages) and no workspace file.
func goEnv() []string {
	return gotool.Env(os.Environ(), gotool.Policy{Offline: true, Work: "off"})
}

// Modules is how a workspace reaches packages outside the standard
// library: the notebook's module and its requirements
// (*modules.Notebook).
type Modules interface {
	// WorkFile returns a go.work that uses the notebook's modules and the
	// module directories extra.
	WorkFile(extra ...string) ([]byte, error)
	// Env returns the go command's environment for builds with the
	// go.work at work (the user's GOPROXY, GOFLAGS and friends included).
	Env(work string) []string
}

// UseModules makes the workspace build with m's modules, as a Go
// workspace (go.work) holding the workspace's module and the notebook's:
// cells import the notebook's packages and third-party ones with the
// versions the notebook uses, and an edit to a package's source is built
// by the next build.
func (w *Workspace) UseModules(m Modules) error {
	work, err := m.WorkFile(w.dir)
	if err != nil {
		return err
	}
	path := filepath.Join(w.dir, "go.work")
	if err := os.WriteFile(path, work, 0o644); err != nil {
		return fmt.Errorf("writing the native workspace's go.work: %w", err)
	}
	w.mu.Lock()
	w.env = m.Env(path)
	w.mu.Unlock()
	return nil
}

// environ is the go command's environment for the workspace's builds.
func (w *Workspace) environ() []string {
	if w.env != nil {
		return w.env
	}
	return goEnv()
}

// populate writes go.mod, the harness package and the display stub.
func (w *Workspace) populate() error {
	files := map[string]string{
		"go.mod":             fmt.Sprintf("module perfnbcell\n\ngo %s\n", w.goVersion),
		"display/display.go": strings.TrimPrefix(displayStub, "//go:build ignore\n\n"),
		"display/bundle.go":  display.BundleSource,
	}
	err := fs.WalkDir(harness.Child, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := fs.ReadFile(harness.Child, p)
		if err != nil {
			return err
		}
		files[filepath.Join("harness", p)] = string(b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("copying the harness into the native workspace: %w", err)
	}
	for name, content := range files {
		p := filepath.Join(w.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("writing the native workspace: %w", err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("writing the native workspace: %w", err)
		}
	}
	return nil
}

func (w *Workspace) build(ctx context.Context, p Program) (*Binary, error) {
	g, err := newGenerator(p, &w.parsed)
	if err != nil {
		return nil, err
	}
	args := []string{"test", "-c", "-vet=off"}
	if !p.Symbols {
		args = append(args, stripped)
	}
	if len(p.GCFlags) > 0 {
		args = append(args, "-gcflags="+strings.Join(p.GCFlags, " "))
	}
	return w.compile(ctx, g, GeneratedFile, "test", args)
}

// BuildCell builds a compiled cell (see CellProgram) into a program, with
// the notebook's values carried in. A compile error names cell lines.
func (w *Workspace) BuildCell(ctx context.Context, c CellProgram) (*Binary, error) {
	typeOf, err := w.cellTypes(ctx, c.Items)
	if err != nil {
		return nil, err
	}
	g, err := newCellGenerator(c, typeOf, &w.parsed)
	if err != nil {
		return nil, err
	}
	return w.compile(ctx, g, filepath.Join(cellDir, "main.go"), "cell", []string{"build", stripped})
}

// cellTypes returns the types of the variables that items declare at the
// cell's top level, from the workspace's TypeSource.
func (w *Workspace) cellTypes(ctx context.Context, items []cell.Item) (map[string]types.Type, error) {
	names := cellVars(items)
	w.mu.Lock()
	src := w.types
	w.mu.Unlock()
	if len(names) == 0 || src == nil {
		return nil, nil // a variable without a type fails the build, naming it
	}
	typeOf, err := src(ctx, names)
	if err != nil {
		return nil, &Error{Kind: CompileFailed, Summary: fmt.Sprintf("the types of the cell's variables are unknown, so the cell cannot be compiled: %v", err), Err: err}
	}
	return typeOf, nil
}

// Warm compiles into the build cache what every build of the workspace
// needs whatever the cell: the harness, the display package and package
// testing (go build, which links nothing for packages that are not
// programs). A build that starts meanwhile waits for it, and reuses what
// it compiled.
func (w *Workspace) Warm(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	cmd := gotool.Command(ctx, w.goCmd, w.dir, w.environ(), "build", "./harness", "./display", "testing")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("preparing the native workspace: %v: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// cellDir is the workspace's directory of compiled cells' main package.
const cellDir = "run"

// stripped leaves out DWARF and the symbol table, which only debuggers and
// nm read: that saves a third of the link time. Tracebacks and pprof
// profiles use the runtime's own function and line tables, which stay.
const stripped = "-ldflags=-s -w"

// compile writes g's program to file (relative to the workspace), carrying
// the notebook's values into it, and builds it with the go command's args
// (build or test -c, and their flags) into a binary named after kind.
func (w *Workspace) compile(ctx context.Context, g *generator, file, kind string, args []string) (*Binary, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	bin := filepath.Join(w.dir, fmt.Sprintf("%s-%d.bin", kind, w.seq))
	state := w.carry(ctx, g, bin+".state")
	src := g.emit()
	key := ""
	imports := g.importPaths()
	if selfContained(imports) {
		// The same program, built the same way, from packages that do not
		// change while the kernel runs: its binary serves again (the
		// notebook's values are in the state file, not in the binary).
		sum := sha256.Sum256([]byte(strings.Join(append(append([]string{kind}, args...), string(src)), "\x00")))
		key = hex.EncodeToString(sum[:])
		if b, ok := w.built[key]; ok {
			w.reuse(b.path, bin+".state")
			return &Binary{Path: b.path, CompilerOutput: b.output, state: state}, nil
		}
	}
	path := filepath.Join(w.dir, file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("writing the generated program: %w", err)
	}
	if err := os.WriteFile(path, src, 0o644); err != nil {
		return nil, fmt.Errorf("writing the generated program: %w", err)
	}
	if kind == "cell" && key != "" {
		start := time.Now()
		if w.buildDirect(ctx, path, imports, bin) {
			w.keep(builtFile{path: bin, states: []string{bin + ".state"}, key: key})
			w.remember(key, bin, "")
			return &Binary{Path: bin, BuildTime: time.Since(start), state: state}, nil
		}
	}
	args = append(args, "-o", bin, "./"+filepath.Dir(file))
	cmd := gotool.Command(ctx, w.goCmd, w.dir, w.environ(), args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return nil, &Error{Kind: Interrupted, Summary: "the build was interrupted", Err: ctx.Err()}
	}
	if err != nil {
		return nil, compileError(out.String(), err)
	}
	w.keep(builtFile{path: bin, states: []string{bin + ".state"}, key: key})
	w.remember(key, bin, out.String())
	return &Binary{Path: bin, BuildTime: elapsed, CompilerOutput: out.String(), state: state}, nil
}

// remember records that the binary at path, built with the compiler's
// output, serves again for the program of key ("": it does not).
func (w *Workspace) remember(key, path, output string) {
	if key == "" {
		return
	}
	if w.built == nil {
		w.built = map[string]builtBinary{}
	}
	w.built[key] = builtBinary{path: path, output: output}
}

// builtFile is what builds left in the workspace: a binary (path, and the
// key it serves under, if any) and the state files of its runs.
type builtFile struct {
	path, key string
	states    []string
}

// builtBinary is a binary that can serve again, with what the compiler
// printed when it was built.
type builtBinary struct {
	path, output string
}

// keep records the files of a build, removing those of the binaries used
// least recently beyond the last keepBinaries.
func (w *Workspace) keep(f builtFile) {
	w.bins = append(w.bins, f)
	for len(w.bins) > keepBinaries {
		old := w.bins[0]
		w.bins = w.bins[1:]
		for _, st := range old.states {
			os.Remove(st)
		}
		os.Remove(old.path)
		if b, ok := w.built[old.key]; ok && b.path == old.path {
			delete(w.built, old.key)
		}
	}
}

// reuse records that the binary at path serves again, with a state file
// of its own: it becomes the most recently used.
func (w *Workspace) reuse(path, state string) {
	for i, f := range w.bins {
		if f.path == path {
			w.bins = append(w.bins[:i], w.bins[i+1:]...)
			f.states = append(f.states, state)
			w.keep(f)
			return
		}
	}
}

// compileError keeps the compiler's messages from go test -c's output:
// they already name cell lines, thanks to the //line directives.
func compileError(out string, err error) error {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.TrimSpace(l) == "",
			strings.HasPrefix(l, "# "),
			strings.HasPrefix(l, "FAIL"),
			strings.HasPrefix(l, "ok "):
			continue
		}
		lines = append(lines, strings.TrimPrefix(l, "./"))
	}
	if len(lines) == 0 {
		return &Error{Kind: CompileFailed, Summary: "the build failed: " + err.Error(), Err: err}
	}
	return &Error{Kind: CompileFailed, Summary: lines[0], Lines: lines, Err: err}
}
