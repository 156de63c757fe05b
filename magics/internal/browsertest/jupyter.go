package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Python is the interpreter that has Debian's Jupyter packages.
const Python = "/usr/bin/python3"

// Output is one display_data output of a code cell: its MIME bundle.
type Output map[string]string

// Cell is a code cell of a notebook made for a test.
type Cell struct {
	Source  string
	Count   int
	Outputs []Output
}

// NotebookJSON returns an nbformat 4 notebook holding cells, for the
// kernel "perfnb" (which NewJupyter's directories stand in for).
func NotebookJSON(cells ...Cell) []byte {
	var cs []any
	for i, c := range cells {
		var outs []any
		for _, o := range c.Outputs {
			outs = append(outs, map[string]any{"output_type": "display_data", "metadata": map[string]any{}, "data": o})
		}
		if outs == nil {
			outs = []any{}
		}
		cs = append(cs, map[string]any{"cell_type": "code", "execution_count": c.Count, "id": fmt.Sprintf("c%d", i),
			"metadata": map[string]any{}, "source": c.Source, "outputs": outs})
	}
	nb := map[string]any{"nbformat": 4, "nbformat_minor": 5, "cells": cs, "metadata": map[string]any{
		"kernelspec": map[string]any{"name": "perfnb", "display_name": "Go (perfnb)", "language": "go"}}}
	data, err := json.MarshalIndent(nb, "", " ")
	if err != nil {
		panic(err) // plain values
	}
	return data
}

// Jupyter is a set of private Jupyter directories (data, config,
// runtime, home) in which notebooks are signed and served, so that a
// test neither reads nor changes the user's.
type Jupyter struct {
	t   testing.TB
	Dir string // the notebooks' directory
	env []string
}

// NewJupyter returns private Jupyter directories, skipping the test
// where Debian's Jupyter Notebook is not installed.
func NewJupyter(t testing.TB) *Jupyter {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Jupyter")
	}
	if err := exec.Command(Python, "-c", "import notebook, nbconvert, nbformat").Run(); err != nil {
		t.Skip("no Jupyter Notebook and nbconvert for " + Python)
	}
	root := t.TempDir()
	j := &Jupyter{t: t, Dir: filepath.Join(root, "notebooks")}
	set := map[string]string{
		"HOME": filepath.Join(root, "home"), "JUPYTER_DATA_DIR": filepath.Join(root, "data"),
		"JUPYTER_CONFIG_DIR": filepath.Join(root, "config"), "JUPYTER_RUNTIME_DIR": filepath.Join(root, "runtime"),
		"IPYTHONDIR": filepath.Join(root, "ipython"), "PYDEVD_DISABLE_FILE_VALIDATION": "1",
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok && k != "JUPYTER_PATH" && k != "JUPYTER_TOKEN" && k != "BROWSER" {
			j.env = append(j.env, kv)
		}
	}
	for k, v := range set {
		j.env = append(j.env, k+"="+v)
	}
	// Jupyter starts a notebook's kernel when it opens it, and asks
	// which to start (a dialog over the page) when it has none of the
	// notebook's name. The outputs do not depend on the kernel: a
	// kernelspec "perfnb" that starts Python's kernel stands in for it.
	kdir := filepath.Join(set["JUPYTER_DATA_DIR"], "kernels", "perfnb")
	spec, _ := json.Marshal(map[string]any{"argv": []string{Python, "-m", "ipykernel_launcher", "-f", "{connection_file}"},
		"display_name": "Go (perfnb)", "language": "go"})
	for _, d := range []string{j.Dir, set["HOME"], kdir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(kdir, "kernel.json"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	return j
}

// run runs Python with args in j's environment.
func (j *Jupyter) run(args ...string) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Python, args...)
	cmd.Env = j.env
	if out, err := cmd.CombinedOutput(); err != nil {
		j.t.Fatalf("%s %s: %v\n%s", Python, strings.Join(args, " "), err, out)
	}
}

// Save writes nb as name in the notebooks' directory, signed with the
// private key when trusted (as `jupyter trust` does, and as Jupyter signs
// the notebooks it executed itself), and returns its path. An unsigned
// notebook is what a colleague receives: Jupyter shows its HTML outputs
// through its sanitizer.
func (j *Jupyter) Save(name string, nb []byte, trusted bool) string {
	j.t.Helper()
	path := filepath.Join(j.Dir, name)
	if err := os.WriteFile(path, nb, 0o644); err != nil {
		j.t.Fatal(err)
	}
	if trusted {
		j.run("-m", "nbformat.sign", path)
	}
	return path
}

// NBConvert exports the notebook at path to HTML with nbconvert (its
// default "lab" template), through its sanitizer when sanitize is set
// (HTMLExporter.sanitize_html, as nbviewer and similar services export),
// and returns the page's path.
func (j *Jupyter) NBConvert(path string, sanitize bool) string {
	j.t.Helper()
	out := strings.TrimSuffix(path, ".ipynb")
	if sanitize {
		out += "-sanitized"
	}
	out += ".html"
	j.run("-m", "nbconvert", "--to", "html", fmt.Sprintf("--HTMLExporter.sanitize_html=%v", sanitize), "--output", out, path)
	return out
}

// Untrusted returns the notebook nb changed so that its signature, if
// Save signed nb itself, does not cover it: a signature covers the
// notebook's content, not its name.
func Untrusted(t testing.TB, nb []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(nb, &m); err != nil {
		t.Fatal(err)
	}
	meta, _ := m["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["perfnb_test"] = "a copy, not signed"
	m["metadata"] = meta
	out, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Server is a running Jupyter Notebook 6 server.
type Server struct {
	j     *Jupyter
	base  string
	token string
}

// Serve starts Jupyter Notebook on the notebooks' directory, on a free
// port, stopped when the test ends.
func (j *Jupyter) Serve() *Server {
	j.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		j.t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	const token = "browsertest"
	args := []string{"-m", "notebook", "--no-browser", fmt.Sprint("--port=", port), "--port-retries=0",
		"--notebook-dir=" + j.Dir, "--NotebookApp.token=" + token}
	if os.Getuid() == 0 {
		args = append(args, "--allow-root")
	}
	cmd := exec.Command(Python, args...)
	cmd.Env = j.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		j.t.Fatal(err)
	}
	j.t.Cleanup(func() {
		// The server and the kernels it started, as Ctrl-C would stop
		// them, then whatever is left.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Since(start) > time.Minute {
			j.t.Fatalf("Jupyter Notebook did not listen on %s within a minute:\n%s", addr, log.String())
		}
	}
	return &Server{j: j, base: "http://" + addr, token: token}
}

// URL is the address of the notebook page of the file name in the
// notebooks' directory.
func (s *Server) URL(name string) string {
	return s.base + "/notebooks/" + name + "?token=" + s.token
}

// NotebookReady is true in a Jupyter Notebook page once the notebook is
// loaded and n outputs are rendered.
func NotebookReady(n int) string {
	return fmt.Sprintf(`window.IPython&&IPython.notebook&&IPython.notebook._fully_loaded&&document.querySelectorAll('.output_subarea').length>=%d`, n)
}
