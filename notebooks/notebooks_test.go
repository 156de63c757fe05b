// Package notebooks_test checks the example notebooks: the saved ones are
// valid, carry their outputs and show no error; executed again through
// `perfnb run`'s runner and through a real Jupyter client driving the
// perfnb kernel, every cell succeeds and every magic prints a result, and
// the saved outputs have the formats of the fresh run's (see
// shape_test.go; scripts/resave-notebooks re-saves them).
//
// The executions are slow (each notebook takes tens of seconds, twice):
// -short skips them. Run the full test with a generous timeout:
//
//	go test -timeout 30m ./notebooks
package notebooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/gomod"
	"github.com/perfnb/perfnb/magics/memit"
	"github.com/perfnb/perfnb/magics/scalene"
	"github.com/perfnb/perfnb/magics/timeit"
	"github.com/perfnb/perfnb/runner"
	"github.com/perfnb/perfnb/runtime/modules"
	"github.com/perfnb/perfnb/runtime/session"
)

// python is the interpreter that can import Debian's Jupyter packages.
const python = "/usr/bin/python3"

// cellTimeout bounds one cell in the executions.
const cellTimeout = 5 * time.Minute

// minNotebooks is how many example notebooks there must be.
const minNotebooks = 7

// magicLine finds a measuring magic in a cell's source.
var magicLine = regexp.MustCompile(`(?m)^[ \t]*%%?(timeit|memit|scalene)\b`)

// nbFile is the part of a notebook the checks read.
type nbFile struct {
	Nbformat      int `json:"nbformat"`
	NbformatMinor int `json:"nbformat_minor"`
	Metadata      struct {
		Kernelspec struct {
			Name string `json:"name"`
		} `json:"kernelspec"`
	} `json:"metadata"`
	Cells []nbCell `json:"cells"`
}

type nbCell struct {
	CellType       string           `json:"cell_type"`
	Source         json.RawMessage  `json:"source"`
	Outputs        []map[string]any `json:"outputs"`
	ExecutionCount *int             `json:"execution_count"`
}

// source returns the cell's source as one string.
func (c nbCell) source() string {
	var s string
	if json.Unmarshal(c.Source, &s) == nil {
		return s
	}
	var lines []string
	_ = json.Unmarshal(c.Source, &lines)
	return strings.Join(lines, "")
}

// notebooks returns the example notebooks.
func notebooks(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	// Notebooks in a folder of their own, a Go module whose packages
	// they measure.
	nested, err := filepath.Glob("*/*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, nested...)
	if len(paths) < minNotebooks {
		t.Fatalf("found %d notebooks %q, want at least %d", len(paths), paths, minNotebooks)
	}
	return paths
}

func readNB(t *testing.T, path string) nbFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb nbFile
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return nb
}

// checkOutputs reports the problems of an executed notebook.
func checkOutputs(t *testing.T, name string, nb nbFile) {
	t.Helper()
	for _, p := range problems(nb) {
		t.Errorf("%s: %s", name, p)
	}
}

// problems lists every error output of nb, and every measuring magic cell
// without a result: a display_data or execute_result with text.
func problems(nb nbFile) []string {
	var ps []string
	for i, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		src := c.source()
		results := 0
		for _, o := range c.Outputs {
			switch o["output_type"] {
			case "error":
				tb, _ := json.Marshal(o["traceback"])
				ps = append(ps, fmt.Sprintf("cell %d (%s) failed: %v: %v\n%s", i+1, firstLine(src), o["ename"], o["evalue"], tb))
			case "display_data", "execute_result":
				data, _ := o["data"].(map[string]any)
				if data["text/plain"] != nil || data["text/html"] != nil {
					results++
				}
			}
		}
		if m := magicLine.FindString(src); m != "" && results == 0 {
			ps = append(ps, fmt.Sprintf("cell %d (%s): %s printed no result; outputs: %v", i+1, firstLine(src), strings.TrimSpace(m), c.Outputs))
		}
	}
	return ps
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func TestProblems(t *testing.T) {
	display := map[string]any{"output_type": "display_data", "data": map[string]any{"text/plain": "1 ns"}, "metadata": map[string]any{}}
	stream := map[string]any{"output_type": "stream", "name": "stdout", "text": "hi"}
	failure := map[string]any{"output_type": "error", "ename": "E", "evalue": "bad", "traceback": []any{}}
	code := func(src string, outs ...map[string]any) nbCell {
		b, _ := json.Marshal(src)
		return nbCell{CellType: "code", Source: b, Outputs: outs}
	}
	tests := []struct {
		name string
		cell nbCell
		want string // "" for no problem
	}{
		{"plain cell", code("x := 1", stream), ""},
		{"magic with a result", code("%timeit f()", display), ""},
		{"cell magic with a result", code("// setup\n%%memit\nf()", stream, display), ""},
		{"magic without a result", code("%scalene f()", stream), "%scalene printed no result"},
		{"cell magic without outputs", code("%%timeit -r 5\na: f()\nb: g()"), "%%timeit printed no result"},
		{"error", code("f()", stream, failure), "failed: E: bad"},
		{"not a magic", code("s := \"%timeit\"", stream), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(nbFile{Cells: []nbCell{tt.cell}})
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("problems = %q, want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("problems = %q, want one containing %q", got, tt.want)
			}
		})
	}
}

// TestSavedNotebooks checks the committed notebooks without running them:
// valid nbformat, perfnb's kernelspec, executed in order, and no error.
func TestSavedNotebooks(t *testing.T) {
	paths := notebooks(t)
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			nb := readNB(t, path)
			if nb.Nbformat != 4 || nb.NbformatMinor < 5 {
				t.Errorf("nbformat %d.%d, want 4.5", nb.Nbformat, nb.NbformatMinor)
			}
			if got := nb.Metadata.Kernelspec.Name; got != "perfnb" {
				t.Errorf("kernelspec %q, want perfnb", got)
			}
			count, magicCells, markdown := 0, 0, 0
			for i, c := range nb.Cells {
				switch c.CellType {
				case "markdown":
					markdown++
				case "code":
					if strings.TrimSpace(c.source()) == "" {
						continue
					}
					count++
					if c.ExecutionCount == nil || *c.ExecutionCount != count {
						t.Errorf("cell %d: execution count %v, want %d: save the notebook executed, in order", i+1, c.ExecutionCount, count)
					}
					if magicLine.MatchString(c.source()) {
						magicCells++
					}
				}
			}
			if count == 0 || markdown == 0 || magicCells == 0 {
				t.Errorf("%d code cells, %d markdown cells, %d magic cells: a study needs all three", count, markdown, magicCells)
			}
			checkOutputs(t, path, nb)
		})
	}
	validate(t, paths...)
}

// validate checks notebooks with the nbformat Python package.
func validate(t *testing.T, paths ...string) {
	t.Helper()
	if !pythonHas(t, "nbformat") {
		return
	}
	script := `import sys, nbformat
bad = 0
for p in sys.argv[1:]:
    try:
        nbformat.validate(nbformat.read(p, as_version=4))
    except Exception as e:
        bad += 1
        print(p + ": " + str(e).splitlines()[0])
sys.exit(bad)`
	out, err := exec.Command(python, append([]string{"-c", script}, paths...)...).CombinedOutput()
	if err != nil {
		t.Errorf("nbformat rejects notebooks: %v\n%s", err, out)
	}
}

// pythonHas reports whether /usr/bin/python3 imports all the modules. When
// it does not, the caller skips, except under CI=true, where it fails.
func pythonHas(t *testing.T, modules ...string) bool {
	t.Helper()
	err := exec.Command(python, "-c", "import "+strings.Join(modules, ", ")).Run()
	if err == nil {
		return true
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s cannot import %s (%v); CI needs Debian's Jupyter packages", python, strings.Join(modules, ", "), err)
	}
	t.Skipf("%s cannot import %s: %v", python, strings.Join(modules, ", "), err)
	return false
}

// copyNotebook copies path into dir and returns the copy's path.
func copyNotebook(t *testing.T, path, dir string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestMain serves modules.ExtractArg, so that the test binary writes the
// symbol tables of the plugins the notebooks import, as perfnb does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == modules.ExtractArg {
		if err := modules.ExtractMain(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newSession builds the interpreter as main.go does, for a notebook in
// folder (its module context: the packages cells import).
func newSession(t *testing.T, folder string) *session.Session {
	extractor, err := modules.SelfExtractor()
	if err != nil {
		t.Fatal(err)
	}
	mods, err := modules.Open(context.Background(), modules.Options{Folder: folder, StateDir: t.TempDir(), Extractor: extractor})
	if err != nil {
		t.Fatal(err)
	}
	return session.New(session.Options{
		// A version shaped like a release's, as the saved outputs name one.
		Version: "0.0.0",
		Magics:  magics.NewRegistry(timeit.New(), memit.New(), scalene.New(), gomod.New(mods, nil)),
		TempDir: t.TempDir(),
		Modules: mods,
	})
}

// TestRunNotebooks executes every notebook with the runner behind
// `perfnb run`, on a copy.
func TestRunNotebooks(t *testing.T) {
	if testing.Short() {
		t.Skip("executing the notebooks takes minutes")
	}
	t.Parallel()
	for _, path := range notebooks(t) {
		t.Run(path, func(t *testing.T) {
			nbPath := copyNotebook(t, path, t.TempDir())
			// The copy runs as if where the original is: in its folder's
			// module.
			sess := newSession(t, filepath.Dir(path))
			defer sess.Shutdown(false)
			var progress bytes.Buffer
			start := time.Now()
			err := runner.Run(context.Background(), sess, runner.Options{
				Path:     nbPath,
				Timeout:  cellTimeout,
				Progress: &progress,
			})
			t.Logf("%s ran in %v", path, time.Since(start).Round(time.Millisecond))
			if err != nil {
				t.Fatalf("perfnb run %s: %v\n%s", path, err, progress.String())
			}
			fresh := readNB(t, nbPath)
			checkOutputs(t, path, fresh)
			checkFormats(t, path, fresh)
			validate(t, nbPath)
		})
	}
}

// TestJupyterNotebooks executes every notebook through the installed
// perfnb kernel with `jupyter nbconvert --execute`.
func TestJupyterNotebooks(t *testing.T) {
	if testing.Short() {
		t.Skip("executing the notebooks takes minutes")
	}
	pythonHas(t, "nbclient", "nbconvert", "jupyter_client")
	t.Parallel()
	tmp := t.TempDir()
	env := jupyterEnv(t, tmp)
	for _, path := range notebooks(t) {
		t.Run(path, func(t *testing.T) {
			outDir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, python, "-m", "nbconvert",
				"--to", "notebook", "--execute",
				"--ExecutePreprocessor.kernel_name=perfnb",
				fmt.Sprintf("--ExecutePreprocessor.timeout=%d", int(cellTimeout.Seconds())),
				"--output-dir", outDir, "--output", "executed.ipynb",
				path)
			cmd.Env = env
			start := time.Now()
			out, err := cmd.CombinedOutput()
			t.Logf("%s executed by nbconvert in %v", path, time.Since(start).Round(time.Millisecond))
			if err != nil {
				t.Fatalf("nbconvert --execute %s: %v\n%s", path, err, out)
			}
			executed := filepath.Join(outDir, "executed.ipynb")
			checkOutputs(t, path, readNB(t, executed))
			validate(t, executed)
		})
	}
}

// jupyterEnv builds perfnb, installs its kernelspec under dir and returns
// an environment in which Jupyter finds it and keeps its files in dir.
func jupyterEnv(t *testing.T, dir string) []string {
	t.Helper()
	bin := buildPerfnb(t, dir)
	prefix := filepath.Join(dir, "prefix")
	if out, err := exec.Command(bin, "install", "--prefix", prefix).CombinedOutput(); err != nil {
		t.Fatalf("perfnb install: %v\n%s", err, out)
	}
	env := os.Environ()
	return append(env,
		"JUPYTER_PATH="+filepath.Join(prefix, "share", "jupyter"),
		"JUPYTER_DATA_DIR="+filepath.Join(dir, "data"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(dir, "runtime"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(dir, "config"),
	)
}

// buildPerfnb builds the perfnb binary into dir.
func buildPerfnb(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "perfnb")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
