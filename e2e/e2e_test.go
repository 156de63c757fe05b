//go:build unix

// Package e2e tests perfnb end to end: it builds the perfnb binary, installs
// its kernelspec into a temporary JUPYTER_PATH and drives it with the real
// Jupyter clients of Debian's packages (jupyter_client, jupyter_kernel_test,
// nbconvert, jupyter console), which import only under /usr/bin/python3.
//
// Without those clients the tests skip, except under CI=true where they
// fail. The Python scripts beside this file print "PASS name" or
// "FAIL name: why" per check; each becomes a subtest here.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// python is the interpreter whose site-packages hold Debian's Jupyter.
const python = "/usr/bin/python3"

// kernelName is the name the tests install the kernelspec under.
const kernelName = "perfnb"

// env is a built perfnb installed into a private Jupyter tree.
type env struct {
	root    string   // temporary directory holding everything below
	bin     string   // the perfnb binary
	prefix  string   // --prefix of the install: prefix/share/jupyter/kernels/perfnb
	specDir string   // the installed kernelspec
	environ []string // environment for Jupyter clients
}

// shared is built once for all tests of the package; TestMain removes it.
var shared struct {
	once sync.Once
	env  *env
	err  error
	root string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.env != nil {
		if n := killKernels(shared.env.bin); n > 0 {
			fmt.Fprintf(os.Stderr, "e2e: killed %d perfnb kernels left running\n", n)
		}
	}
	if shared.root != "" {
		os.RemoveAll(shared.root)
	}
	os.Exit(code)
}

// killKernels kills the processes running the binary bin (kernels that a
// failed or timed-out client left behind: jupyter_client starts kernels in
// a session of their own, out of reach of the client's process group) and
// returns how many it killed. It reads /proc, so it does nothing elsewhere.
func killKernels(bin string) int {
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	n := 0
	for _, p := range procs {
		exe, err := os.Readlink(p)
		if err != nil || strings.TrimSuffix(exe, " (deleted)") != bin {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(p, "/proc/%d/exe", &pid); err == nil && pid != os.Getpid() {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
	}
	return n
}

// requireJupyter skips the test when /usr/bin/python3 cannot import
// jupyter_client, unless CI=true, where it fails.
func requireJupyter(t *testing.T, modules ...string) {
	t.Helper()
	imports := "import " + strings.Join(append([]string{"jupyter_client"}, modules...), ", ")
	out, err := exec.Command(python, "-c", imports).CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s cannot %q (%v: %s); install the Debian packages listed in scripts/setup (run it as root)",
		python, imports, err, bytes.TrimSpace(out))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// setup builds perfnb and installs its kernelspec once, and returns the
// environment the Jupyter clients run in.
func setup(t *testing.T) *env {
	t.Helper()
	requireJupyter(t)
	shared.once.Do(func() { shared.env, shared.err = build() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.env
}

func build() (*env, error) {
	root, err := os.MkdirTemp("", "perfnb-e2e-")
	if err != nil {
		return nil, err
	}
	shared.root = root
	e := &env{
		root:   root,
		bin:    filepath.Join(root, "bin", "perfnb"),
		prefix: filepath.Join(root, "prefix"),
	}
	e.specDir = filepath.Join(e.prefix, "share", "jupyter", "kernels", kernelName)
	repo, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", e.bin, ".")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build of perfnb failed: %v\n%s", err, out)
	}
	buildTime := time.Since(start)

	if e.environ, err = testEnviron(root, e.prefix); err != nil {
		return nil, err
	}

	cmd = exec.Command(e.bin, "install", "--prefix", e.prefix, "--name", kernelName)
	cmd.Env = e.environ
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("perfnb install --prefix %s: %v\n%s", e.prefix, err, out)
	}
	if _, err := os.Stat(filepath.Join(e.specDir, "kernel.json")); err != nil {
		return nil, fmt.Errorf("perfnb install said %q but: %w", out, err)
	}
	fmt.Fprintf(os.Stderr, "e2e: built perfnb in %v, installed in %s\n", buildTime.Round(time.Millisecond), e.specDir)
	return e, nil
}

// testEnviron returns the environment of the Jupyter clients and kernels
// the tests start: this process's, with Jupyter's and IPython's
// directories and HOME under root, the kernelspecs of prefix, and the
// user's Go caches kept (the kernel's magics build with the go command,
// and a cold cache would make every build slow).
func testEnviron(root, prefix string) ([]string, error) {
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	gov := strings.Split(strings.TrimSpace(string(goenv)), "\n")
	if len(gov) != 3 {
		return nil, fmt.Errorf("go env printed %q", goenv)
	}
	dirs := map[string]string{
		"HOME":                filepath.Join(root, "home"),
		"JUPYTER_DATA_DIR":    filepath.Join(root, "data"),
		"JUPYTER_CONFIG_DIR":  filepath.Join(root, "config"),
		"JUPYTER_RUNTIME_DIR": filepath.Join(root, "runtime"),
		"IPYTHONDIR":          filepath.Join(root, "ipython"),
		"MPLCONFIGDIR":        filepath.Join(root, "mpl"),
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	set := map[string]string{
		"JUPYTER_PATH":                   filepath.Join(prefix, "share", "jupyter"),
		"PERFNB_KERNEL":                  kernelName,
		"PYTHONDONTWRITEBYTECODE":        "1",
		"PYTHONUNBUFFERED":               "1",
		"PYDEVD_DISABLE_FILE_VALIDATION": "1",
		"GOCACHE":                        gov[0],
		"GOMODCACHE":                     gov[1],
		"GOPATH":                         gov[2],
	}
	for k, v := range dirs {
		set[k] = v
	}
	var environ []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok && k != "JUPYTER_PREFER_ENV_PATH" {
			environ = append(environ, kv)
		}
	}
	for k, v := range set {
		environ = append(environ, k+"="+v)
	}
	return environ, nil
}

// command returns a command running in the e2e directory with the Jupyter
// environment, in its own process group so that a timeout kills the kernels
// it started too.
func (e *env) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = e.environ
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs a command with a timeout and returns its combined output and
// error; a timeout is reported as such.
func (e *env) run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := e.command(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %s timed out after %v: %w", name, strings.Join(args, " "), timeout, ctx.Err())
	}
	if err != nil {
		if n := killKernels(e.bin); n > 0 {
			t.Logf("killed %d perfnb kernels that %s left running", n, filepath.Base(name))
		}
	}
	t.Logf("%s %s: %v in %v", filepath.Base(name), strings.Join(args, " "), errOrOK(err), time.Since(start).Round(time.Millisecond))
	return out.String(), err
}

func errOrOK(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// runChecks runs a check script (see perfnb_e2e.py) and turns each of its
// PASS/FAIL lines into a subtest.
func (e *env) runChecks(t *testing.T, timeout time.Duration, script string, checks ...string) {
	t.Helper()
	out, err := e.run(t, timeout, python, append([]string{script}, checks...)...)
	type result struct {
		name, detail string
		pass         bool
	}
	var results []result
	var other, figures []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "PASS "):
			name, _, _ := strings.Cut(strings.TrimPrefix(line, "PASS "), " ")
			results = append(results, result{name: name, pass: true})
			for _, f := range figures {
				t.Logf("%s:%s", name, f) // a figure the check measured
			}
			figures = nil
		case strings.HasPrefix(line, "FAIL "):
			name, detail, _ := strings.Cut(strings.TrimPrefix(line, "FAIL "), ": ")
			results = append(results, result{name: name, detail: detail})
			figures = nil
		case strings.HasPrefix(line, "    ") && len(results) > 0 && !results[len(results)-1].pass:
			results[len(results)-1].detail += "\n" + line
		case strings.HasPrefix(line, "  "):
			figures = append(figures, line)
		default:
			other = append(other, line)
		}
	}
	if len(other) > 0 {
		// The kernel's standard error can hold a crash report of
		// thousands of frames: keep its ends, so that the checks'
		// failures below stay in view.
		t.Logf("%s output:\n%s", script, strings.Join(elide(other, 30, 10), "\n"))
	}
	for _, r := range results {
		t.Run(r.name, func(t *testing.T) {
			if !r.pass {
				t.Error(r.detail)
			}
		})
	}
	if err != nil {
		failed := false
		for _, r := range results {
			failed = failed || !r.pass
		}
		if !failed {
			t.Fatalf("%s failed without a FAIL line: %v\n%s", script, err, out)
		}
	}
	if err == nil && len(results) == 0 {
		t.Fatalf("%s ran no checks:\n%s", script, out)
	}
}

// elide returns lines, or its first head and last tail lines with a line
// that counts those left out between them.
func elide(lines []string, head, tail int) []string {
	if len(lines) <= head+tail+1 {
		return lines
	}
	out := append([]string{}, lines[:head]...)
	out = append(out, fmt.Sprintf("[… %d lines …]", len(lines)-head-tail))
	return append(out, lines[len(lines)-tail:]...)
}

func TestKernelspecList(t *testing.T) {
	e := setup(t)
	out, err := e.run(t, time.Minute, python, "-m", "jupyter_client.kernelspecapp", "list", "--json")
	if err != nil {
		t.Fatalf("jupyter kernelspec list: %v\n%s", err, out)
	}
	var list struct {
		Kernelspecs map[string]struct {
			ResourceDir string `json:"resource_dir"`
			Spec        struct {
				Argv          []string `json:"argv"`
				DisplayName   string   `json:"display_name"`
				Language      string   `json:"language"`
				InterruptMode string   `json:"interrupt_mode"`
			} `json:"spec"`
		} `json:"kernelspecs"`
	}
	start := strings.Index(out, "{")
	if start < 0 {
		t.Fatalf("jupyter kernelspec list --json printed no JSON:\n%s", out)
	}
	if err := json.NewDecoder(strings.NewReader(out[start:])).Decode(&list); err != nil {
		t.Fatalf("jupyter kernelspec list --json: %v\n%s", err, out)
	}
	ks, ok := list.Kernelspecs[kernelName]
	if !ok {
		t.Fatalf("jupyter kernelspec list does not show %s:\n%s", kernelName, out)
	}
	if ks.ResourceDir != e.specDir {
		t.Errorf("resource_dir = %s, want %s", ks.ResourceDir, e.specDir)
	}
	want := []string{e.bin, "kernel", "{connection_file}"}
	if strings.Join(ks.Spec.Argv, " ") != strings.Join(want, " ") {
		t.Errorf("argv = %q, want %q", ks.Spec.Argv, want)
	}
	if ks.Spec.Language != "go" || ks.Spec.InterruptMode != "message" || ks.Spec.DisplayName != "Go (perfnb)" {
		t.Errorf("spec = %+v", ks.Spec)
	}
}

func TestInstallUserAndUninstall(t *testing.T) {
	e := setup(t)
	data := filepath.Join(t.TempDir(), "jupyter-data")
	environ := append(append([]string(nil), e.environ...), "JUPYTER_DATA_DIR="+data, "JUPYTER_PATH=")
	runEnv := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = environ
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	runEnv(e.bin, "install", "--user", "--name", "perfnb-user", "--display-name", "Go (user)")
	out := runEnv(python, "-m", "jupyter_client.kernelspecapp", "list")
	if !strings.Contains(out, "perfnb-user") || !strings.Contains(out, filepath.Join(data, "kernels", "perfnb-user")) {
		t.Errorf("jupyter kernelspec list after perfnb install --user:\n%s", out)
	}
	runEnv(e.bin, "uninstall", "--user", "--name", "perfnb-user")
	out = runEnv(python, "-m", "jupyter_client.kernelspecapp", "list")
	if strings.Contains(out, "perfnb-user") {
		t.Errorf("perfnb uninstall left the kernelspec:\n%s", out)
	}
	cmd := exec.Command(e.bin, "install", "--prefix", t.TempDir(), "--name", "bad name")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("perfnb install --name 'bad name' succeeded:\n%s", out)
	}
}

// TestClient drives the kernel with jupyter_client: see test_client.py.
func TestClient(t *testing.T) {
	e := setup(t)
	e.runChecks(t, 6*time.Minute, "test_client.py")
}

// TestTransport attacks the kernel's five sockets without the key
// (oversized frames, broken and half-open handshakes, descriptors
// exhausted) and checks that jupyter_client is still answered: see
// test_transport.py.
func TestTransport(t *testing.T) {
	e := setup(t)
	e.runChecks(t, 3*time.Minute, "test_transport.py")
}

// TestCrash makes cells end the interpreter process in every way Go's
// runtime can: see test_crash.py.
func TestCrash(t *testing.T) {
	e := setup(t)
	e.runChecks(t, 8*time.Minute, "test_crash.py")
}

// TestRunSurvivesCrash: a cell that ends the interpreter process is that
// cell's error in perfnb run, which goes on with --allow-errors and
// otherwise stops, writing in both cases everything that ran.
func TestRunSurvivesCrash(t *testing.T) {
	e := setup(t)
	cells := []string{
		"base := 40\nfunc inc(n int) int { return n + 2 }",
		"func down(n int) int { return down(n+1) + 1 }\ndown(0)",
		"inc(base)",
	}
	var nb bytes.Buffer
	nb.WriteString(`{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [`)
	for i, c := range cells {
		src, _ := json.Marshal(c)
		if i > 0 {
			nb.WriteString(",")
		}
		fmt.Fprintf(&nb, `{"cell_type": "code", "id": "c%d", "metadata": {}, "execution_count": null, "outputs": [], "source": %s}`, i, src)
	}
	nb.WriteString("]}")
	dir := t.TempDir()
	in := filepath.Join(dir, "crash.ipynb")
	if err := os.WriteFile(in, nb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, allow := range []bool{true, false} {
		out := filepath.Join(dir, fmt.Sprintf("out-%v.ipynb", allow))
		args := []string{"run", in, "-o", out}
		if allow {
			args = append(args, "--allow-errors")
		}
		// PERFNB_EXTRACT_SYMBOLS once turned any perfnb into the symbol
		// extractor, which ran nothing and exited 0; now it means nothing.
		log, err := e.run(t, 2*time.Minute, "env", append([]string{"PERFNB_EXTRACT_SYMBOLS=fmt", e.bin}, args...)...)
		if allow == (err != nil) {
			t.Errorf("--allow-errors=%v: perfnb run: %v\n%s", allow, err, log)
		}
		data, rerr := os.ReadFile(out)
		if rerr != nil {
			t.Fatalf("--allow-errors=%v: no output notebook: %v\n%s", allow, rerr, log)
		}
		var got notebook
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		outs := got.Cells[1].Outputs
		if len(outs) == 0 || outs[len(outs)-1]["ename"] != "FatalError" || !strings.Contains(fmt.Sprint(outs[len(outs)-1]["evalue"]), "stack overflow") {
			t.Errorf("--allow-errors=%v: the crashing cell's outputs are %v", allow, outs)
		}
		last := got.Cells[2].Outputs
		switch {
		case allow && (len(last) != 1 || !strings.Contains(fmt.Sprint(last[0]["data"]), "42")):
			t.Errorf("the cell after the crash gave %v, want 42", last)
		case !allow && len(last) != 0:
			t.Errorf("without --allow-errors, the cell after the crash ran: %v", last)
		}
	}
}

// TestConformance runs jupyter_kernel_test's KernelTests with Go samples.
func TestConformance(t *testing.T) {
	requireJupyter(t, "jupyter_kernel_test")
	e := setup(t)
	out, err := e.run(t, 5*time.Minute, python, "-m", "unittest", "-v", "test_kernel_conformance")
	t.Logf("jupyter_kernel_test:\n%s", out)
	// Report each failing test by name.
	re := regexp.MustCompile(`(?m)^(test_\w+) \(test_kernel_conformance\.PerfnbKernelTests[^)]*\)(.*)\.\.\. (FAIL|ERROR|ok|skipped.*)$`)
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		if m[3] == "FAIL" || m[3] == "ERROR" {
			t.Errorf("%s%s: %s", m[1], m[2], m[3])
		}
	}
	if err != nil {
		t.Errorf("jupyter_kernel_test failed: %v", err)
	}
	if !strings.Contains(out, "Ran ") {
		t.Errorf("unittest did not run")
	}
}

// notebook is the part of nbformat 4 the tests read.
type notebook struct {
	Cells []struct {
		CellType       string           `json:"cell_type"`
		ExecutionCount *int             `json:"execution_count"`
		Source         any              `json:"source"`
		Outputs        []map[string]any `json:"outputs"`
	} `json:"cells"`
	Metadata map[string]any `json:"metadata"`
}

// text joins nbformat's multi-line strings (a string or a list of strings).
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var b strings.Builder
		for _, s := range v {
			b.WriteString(fmt.Sprint(s))
		}
		return b.String()
	}
	return ""
}

func TestNbconvertExecute(t *testing.T) {
	requireJupyter(t, "nbconvert", "nbclient")
	e := setup(t)
	outDir := t.TempDir()
	jupyter := []string{"/usr/bin/jupyter", "nbconvert"}
	if _, err := os.Stat(jupyter[0]); err != nil {
		jupyter = []string{python, "-m", "nbconvert"}
	}
	args := append(jupyter[1:], "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=120",
		"--output-dir", outDir, "--output", "smoke.out", "testdata/smoke.ipynb")
	out, err := e.run(t, 5*time.Minute, jupyter[0], args...)
	if err != nil {
		t.Fatalf("nbconvert --execute: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(outDir, "smoke.out.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	var nb notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatalf("the executed notebook is not JSON: %v", err)
	}
	var code []int // indices of code cells
	for i, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		code = append(code, i)
		if c.ExecutionCount == nil {
			t.Errorf("cell %d has no execution count", i)
		}
		for _, o := range c.Outputs {
			if o["output_type"] == "error" {
				t.Errorf("cell %d has an error output: %v: %v", i, o["ename"], o["evalue"])
			}
		}
	}
	if len(code) != 5 {
		t.Fatalf("want 5 code cells, got %d", len(code))
	}
	output := func(cell int, typ string) map[string]any {
		for _, o := range nb.Cells[code[cell]].Outputs {
			if o["output_type"] == typ {
				return o
			}
		}
		t.Errorf("code cell %d (%q) has no %s output: %v", cell, text(nb.Cells[code[cell]].Source), typ, nb.Cells[code[cell]].Outputs)
		return nil
	}
	data1 := func(o map[string]any, mime string) string {
		if o == nil {
			return ""
		}
		d, _ := o["data"].(map[string]any)
		return text(d[mime])
	}
	if o := output(0, "stream"); o != nil && text(o["text"]) != "hello from nbconvert\n" {
		t.Errorf("cell 0 printed %q", text(o["text"]))
	}
	if outs := nb.Cells[code[1]].Outputs; len(outs) != 0 {
		t.Errorf("a cell of declarations has outputs: %v", outs)
	}
	if got := data1(output(2, "execute_result"), "text/plain"); got != "42" {
		t.Errorf("answer = %q, want 42", got)
	}
	if got := data1(output(3, "execute_result"), "text/plain"); !strings.Contains(got, "GO!") {
		t.Errorf(`shout("go") = %q, want GO!`, got)
	}
	if got := data1(output(4, "display_data"), "text/markdown"); !strings.Contains(got, "**bold**") {
		t.Errorf("display.Markdown gave %q", got)
	}
}

func TestConsole(t *testing.T) {
	requireJupyter(t, "jupyter_console", "pexpect")
	e := setup(t)
	out, err := e.run(t, 3*time.Minute, python, "test_console.py")
	if err != nil {
		t.Fatalf("jupyter console: %v\n%s", err, out)
	}
	if !strings.Contains(out, "PASS console") {
		t.Fatalf("test_console.py did not pass:\n%s", out)
	}
}

// TestMagics checks %timeit, %%timeit, %memit and %%scalene through
// jupyter_client: see test_magics.py.
func TestMagics(t *testing.T) {
	e := setup(t)
	e.runChecks(t, 12*time.Minute, "test_magics.py")
}

// TestState checks that a magic's child starts from the notebook's values
// (maps filled by loops, structs with unexported fields, pointers with
// sharing and cycles) and names what it cannot carry: see test_state.py.
func TestState(t *testing.T) {
	e := setup(t)
	e.runChecks(t, 10*time.Minute, "test_state.py")
}

// TestModernGo checks that cells are Go 1.26: what the interpreter cannot
// run runs compiled, with the notebook's values, and prints what go run
// prints: see test_modern.py.
func TestModernGo(t *testing.T) {
	e := setup(t)
	e.runChecks(t, 10*time.Minute, "test_modern.py")
}

func TestVersion(t *testing.T) {
	e := setup(t)
	out, err := exec.Command(e.bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("perfnb version: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`^perfnb \d+\.\d+\.\d+`).Match(out) {
		t.Errorf("perfnb version printed %q", out)
	}
	var exit *exec.ExitError
	if out, err := exec.Command(e.bin, "no-such-command").CombinedOutput(); !errors.As(err, &exit) {
		t.Errorf("perfnb no-such-command: %v (want a non-zero exit)\n%s", err, out)
	}
}
