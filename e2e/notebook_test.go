//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestNotebookScript runs scripts/notebook as the README tells a newcomer
// to, with a private home and Jupyter directories, on a free port without a
// browser, passing Jupyter's --notebook-dir through: it must build perfnb, install the kernelspec for the user and
// serve the notebooks, whose page and kernelspec list the test fetches
// from the server's REST API; then a kernel is started through the server
// and the script is stopped as Ctrl-C would.
func TestNotebookScript(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jupyter Notebook")
	}
	requireJupyter(t, "notebook")
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	const token = "e2e-notebook-token"
	root := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// A Jupyter option the script also sets, passed through after --:
	// Jupyter's own takes precedence, and is not given twice ("notebook_dir
	// only accepts one value").
	cmd := exec.CommandContext(ctx, filepath.Join(repo, "scripts", "notebook"), "--port", fmt.Sprint(port), "--no-browser",
		"--", "--notebook-dir="+filepath.Join(repo, "notebooks"))
	cmd.Dir = repo
	cmd.Env = notebookEnv(t, root, token)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("scripts/notebook printed:\n%s", out.String())
		}
	}()

	url := waitForLine(t, out, exited, "Jupyter Notebook is running; open ")
	t.Logf("first page after %v: %s", time.Since(start).Round(time.Millisecond), url)
	if want := fmt.Sprintf("http://127.0.0.1:%d/tree?token=%s", port, token); url != want {
		t.Errorf("printed URL %q, want %q", url, want)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if os.Getuid() == 0 && !strings.Contains(out.String(), "running as root: passing --allow-root") {
		t.Error("as root, the script did not say that it passes --allow-root")
	}

	checkNotebookPages(t, url, base, token)
	checkKernelspecServed(t, base, token, repo, root)

	startKernel(t, base, token, out)

	// Ctrl-C in the terminal: the script stops Jupyter, which stops its
	// kernels, and exits.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("scripts/notebook did not stop within 30 s of SIGINT")
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still answers after the script stopped", port)
	}
}

// checkNotebookPages checks that the server, at base with token, serves the
// notebook page at url and lists the example notebooks.
func checkNotebookPages(t *testing.T, url, base, token string) {
	t.Helper()
	page := get(t, url)
	for _, want := range []string{"<title>Home Page - Select or create a notebook</title>", "notebook_list"} {
		if !strings.Contains(page, want) {
			t.Errorf("the notebook page lacks %q", want)
		}
	}
	var contents struct{ Content []struct{ Name string } }
	getJSON(t, base+"/api/contents?token="+token, &contents)
	var names []string
	for _, c := range contents.Content {
		names = append(names, c.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "01-string-building.ipynb") {
		t.Errorf("the server lists %v, not the example notebooks", names)
	}
}

// checkKernelspecServed checks that the server, at base with token, lists
// the kernelspec of the perfnb the script built in repo, installed for the
// user whose Jupyter directories are in root.
func checkKernelspecServed(t *testing.T, base, token, repo, root string) {
	t.Helper()
	var specs struct {
		Kernelspecs map[string]struct {
			Spec struct {
				DisplayName string `json:"display_name"`
				Language    string
				Argv        []string
			}
		}
	}
	getJSON(t, base+"/api/kernelspecs?token="+token, &specs)
	spec, ok := specs.Kernelspecs["perfnb"]
	switch {
	case !ok:
		t.Fatalf("/api/kernelspecs lists %v, not perfnb", specs.Kernelspecs)
	case spec.Spec.DisplayName != "Go (perfnb)" || spec.Spec.Language != "go":
		t.Errorf("perfnb's spec: %+v, want display name \"Go (perfnb)\", language go", spec.Spec)
	case len(spec.Spec.Argv) == 0 || spec.Spec.Argv[0] != filepath.Join(repo, "bin", "perfnb"):
		t.Errorf("perfnb's argv %q, want the binary the script built in bin/", spec.Spec.Argv)
	}
	if _, err := os.Stat(filepath.Join(root, "data", "kernels", "perfnb", "kernel.json")); err != nil {
		t.Errorf("the kernelspec is not where --user puts it: %v", err)
	}
}

// notebookEnv is the environment of a newcomer with a fresh home: the
// Jupyter directories and HOME in root, the Go caches kept.
func notebookEnv(t *testing.T, root, token string) []string {
	t.Helper()
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	gov := strings.Split(strings.TrimSpace(string(goenv)), "\n")
	set := map[string]string{
		"HOME":                           filepath.Join(root, "home"),
		"JUPYTER_DATA_DIR":               filepath.Join(root, "data"),
		"JUPYTER_CONFIG_DIR":             filepath.Join(root, "config"),
		"JUPYTER_RUNTIME_DIR":            filepath.Join(root, "runtime"),
		"IPYTHONDIR":                     filepath.Join(root, "ipython"),
		"JUPYTER_TOKEN":                  token,
		"PYDEVD_DISABLE_FILE_VALIDATION": "1",
		"GOCACHE":                        gov[0],
		"GOMODCACHE":                     gov[1],
		"GOPATH":                         gov[2],
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok && k != "JUPYTER_PATH" && k != "PERFNB_JUPYTER" && k != "BROWSER" {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// startKernel starts a perfnb kernel through the server, checks that it
// is still running two seconds later (Jupyter restarts a kernel that dies
// and says so in its log), and deletes it. Notebook 6 reports the state
// "starting" until a browser connects, so the state is not checked.
func startKernel(t *testing.T, base, token string, log *lockedBuffer) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/kernels", strings.NewReader(`{"name":"perfnb"}`))
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var k struct{ ID, Name string }
	json.NewDecoder(resp.Body).Decode(&k)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || k.ID == "" || k.Name != "perfnb" {
		t.Fatalf("starting a perfnb kernel: %s, %+v", resp.Status, k)
	}
	time.Sleep(2 * time.Second)
	var again struct{ ID, Name string }
	getJSON(t, base+"/api/kernels/"+k.ID+"?token="+token, &again)
	if again.ID != k.ID || strings.Contains(log.String(), "estarting kernel") {
		t.Errorf("the perfnb kernel did not keep running: %+v", again)
	}
	req, _ = http.NewRequest("DELETE", base+"/api/kernels/"+k.ID, nil)
	req.Header.Set("Authorization", "token "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Errorf("deleting the kernel: %v %v", resp, err)
	}
}

// freePort returns a TCP port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitForLine waits up to three minutes (the first build of perfnb is
// part of it) for a line of out starting with prefix and returns the rest.
func waitForLine(t *testing.T, out *lockedBuffer, exited <-chan error, prefix string) string {
	t.Helper()
	deadline := time.After(3 * time.Minute)
	for {
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "notebook: "+prefix); ok {
				return rest
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("scripts/notebook ended (%v) before printing %q", err, prefix)
		case <-deadline:
			t.Fatalf("scripts/notebook did not print %q within 3 minutes", prefix)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// get fetches url and returns its body, failing unless the status is 200.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}

// getJSON fetches url and decodes its JSON body into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, url)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// lockedBuffer is a bytes.Buffer that a process writes while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
