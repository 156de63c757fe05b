// Package install writes and removes perfnb's Jupyter kernelspec
// (kernel.json and logos), as `python -m ipykernel install` does.
//
// A kernelspec is a directory named after the kernel inside a "kernels"
// directory that Jupyter searches:
//
//   - --user (the default): the user's Jupyter data directory, that is
//     $JUPYTER_DATA_DIR, else ~/Library/Jupyter on macOS, %APPDATA%\jupyter on
//     Windows, and $XDG_DATA_HOME/jupyter or ~/.local/share/jupyter elsewhere;
//   - --sys-prefix: sys.prefix/share/jupyter of the Python that runs Jupyter;
//   - --prefix DIR: DIR/share/jupyter.
package install

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// Options says where and under which name the kernelspec goes.
type Options struct {
	User        bool   // the user's Jupyter data directory (the default)
	SysPrefix   bool   // sys.prefix of the Python that runs Jupyter
	Prefix      string // a prefix such as /usr/local: PREFIX/share/jupyter/kernels
	Name        string // the kernelspec's directory name; default "perfnb"
	DisplayName string // default "Go (perfnb)"
	Executable  string // the perfnb binary; default os.Executable
	// Python is the interpreter asked for sys.prefix with SysPrefix. By
	// default: the Python of the `jupyter` command on PATH, then
	// /usr/bin/python3, then python3 on PATH, the first that imports
	// jupyter_core.
	Python string
}

// Defaults for Options.Name and Options.DisplayName.
const (
	DefaultName        = "perfnb"
	DefaultDisplayName = "Go (perfnb)"
)

// KernelSpec is the content of kernel.json.
type KernelSpec struct {
	Argv          []string       `json:"argv"`
	DisplayName   string         `json:"display_name"`
	Language      string         `json:"language"`
	InterruptMode string         `json:"interrupt_mode"`
	Metadata      map[string]any `json:"metadata"`
}

//go:embed logo/logo-32x32.png logo/logo-64x64.png logo/logo-svg.svg
var logos embed.FS

// validName is the set of names Jupyter accepts for a kernelspec.
var validName = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// Install writes the kernelspec and returns its directory. An existing
// kernelspec of the same name in the same place is replaced.
func Install(opts Options) (string, error) {
	name, kernels, err := target(opts)
	if err != nil {
		return "", err
	}
	exe, err := executable(opts.Executable)
	if err != nil {
		return "", err
	}
	display := opts.DisplayName
	if display == "" {
		display = DefaultDisplayName
	}
	spec := KernelSpec{
		Argv:          []string{exe, "kernel", "{connection_file}"},
		DisplayName:   display,
		Language:      "go",
		InterruptMode: "message",
		Metadata:      map[string]any{"debugger": false},
	}
	specJSON, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("install: encoding kernel.json: %w", err)
	}
	if err := os.MkdirAll(kernels, 0o755); err != nil {
		return "", fmt.Errorf("install: creating the kernels directory: %w", err)
	}
	// Write into a fresh directory beside the target and rename it into
	// place, so that Jupyter never sees a half-written kernelspec.
	tmp, err := os.MkdirTemp(kernels, "."+name+".tmp-")
	if err != nil {
		return "", fmt.Errorf("install: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("install: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "kernel.json"), append(specJSON, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("install: writing kernel.json: %w", err)
	}
	files, err := fs.ReadDir(logos, "logo")
	if err != nil {
		return "", fmt.Errorf("install: reading the embedded logos: %w", err)
	}
	for _, f := range files {
		data, err := logos.ReadFile("logo/" + f.Name())
		if err != nil {
			return "", fmt.Errorf("install: reading the embedded logos: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, f.Name()), data, 0o644); err != nil {
			return "", fmt.Errorf("install: writing %s: %w", f.Name(), err)
		}
	}
	dir := filepath.Join(kernels, name)
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("install: removing the previous kernelspec: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("install: %w", err)
	}
	return dir, nil
}

// Uninstall removes the kernelspec and returns the directory it removed.
func Uninstall(opts Options) (string, error) {
	name, kernels, err := target(opts)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(kernels, name)
	if _, err := os.Stat(filepath.Join(dir, "kernel.json")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("uninstall: no kernelspec %q in %s", name, kernels)
		}
		return "", fmt.Errorf("uninstall: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("uninstall: %w", err)
	}
	return dir, nil
}

// target returns the kernelspec's name and the "kernels" directory that
// opts select.
func target(opts Options) (name, kernels string, err error) {
	if name, err = kernelName(opts.Name); err != nil {
		return "", "", err
	}
	kernels, err = KernelsDir(opts)
	return name, kernels, err
}

// KernelsDir returns the "kernels" directory that opts select, without
// creating it.
func KernelsDir(opts Options) (string, error) {
	modes := 0
	for _, set := range []bool{opts.User, opts.SysPrefix, opts.Prefix != ""} {
		if set {
			modes++
		}
	}
	if modes > 1 {
		return "", errors.New("choose only one of --user, --sys-prefix and --prefix")
	}
	switch {
	case opts.Prefix != "":
		prefix, err := filepath.Abs(opts.Prefix)
		if err != nil {
			return "", fmt.Errorf("install: prefix: %w", err)
		}
		return filepath.Join(prefix, "share", "jupyter", "kernels"), nil
	case opts.SysPrefix:
		prefix, err := sysPrefix(opts.Python)
		if err != nil {
			return "", err
		}
		return filepath.Join(prefix, "share", "jupyter", "kernels"), nil
	default:
		data, err := UserDataDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(data, "kernels"), nil
	}
}

// UserDataDir returns the user's Jupyter data directory, found as
// jupyter_core's jupyter_data_dir finds it.
func UserDataDir() (string, error) {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return filepath.Abs(d)
	}
	home, err := os.UserHomeDir()
	if err != nil && runtime.GOOS != "windows" {
		return "", fmt.Errorf("install: finding the Jupyter data directory: %w", err)
	}
	switch runtime.GOOS {
	case "darwin", "ios":
		return filepath.Join(home, "Library", "Jupyter"), nil
	case "windows":
		if appdata := os.Getenv("APPDATA"); appdata != "" {
			return filepath.Join(appdata, "jupyter"), nil
		}
		if err != nil {
			return "", fmt.Errorf("install: finding the Jupyter data directory: %w", err)
		}
		return filepath.Join(home, ".jupyter", "data"), nil
	}
	if xdg := os.Getenv("XDG_DATA_HOME"); xdg != "" {
		return filepath.Join(xdg, "jupyter"), nil
	}
	return filepath.Join(home, ".local", "share", "jupyter"), nil
}

// kernelName validates and normalises a kernelspec name. Jupyter lowercases
// names when it installs and looks up kernelspecs, so perfnb does too.
func kernelName(name string) (string, error) {
	if name == "" {
		name = DefaultName
	}
	if !validName.MatchString(name) || name == "." || name == ".." {
		return "", fmt.Errorf("invalid kernelspec name %q: use only letters, digits, '.', '_' and '-'", name)
	}
	return strings.ToLower(name), nil
}

// executable returns the absolute path of the perfnb binary that kernel.json
// should start.
func executable(path string) (string, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("install: finding the perfnb binary: %w", err)
		}
		if isGoRunBinary(exe) {
			return "", fmt.Errorf("install: %s is a temporary binary of `go run`, which Jupyter could not start later; build perfnb first (go build -o bin/perfnb . or go install) and run that binary's install command", exe)
		}
		path = exe
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("install: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	info, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("install: the perfnb binary: %w", err)
	}
	if info.IsDir() {
		return "", fmt.Errorf("install: the perfnb binary %s is a directory", abs)
	}
	return abs, nil
}

// isGoRunBinary reports whether exe lies in a build directory of `go run`
// (or `go test`), which the go command removes when it exits.
func isGoRunBinary(exe string) bool {
	tmp := filepath.Clean(os.TempDir()) + string(filepath.Separator)
	if !strings.HasPrefix(exe, tmp) {
		return false
	}
	for _, part := range strings.Split(filepath.ToSlash(exe[len(tmp):]), "/") {
		if strings.HasPrefix(part, "go-build") {
			return true
		}
	}
	return false
}

// sysPrefix asks a Python that can import jupyter_core for its sys.prefix.
func sysPrefix(python string) (string, error) {
	candidates := []string{python}
	if python == "" {
		candidates = pythonCandidates()
	}
	var tried []string
	for _, py := range candidates {
		out, err := exec.Command(py, "-c", "import sys, jupyter_core; print(sys.prefix)").Output()
		tried = append(tried, py)
		if err != nil {
			continue
		}
		if prefix := strings.TrimSpace(string(out)); prefix != "" {
			return prefix, nil
		}
	}
	return "", fmt.Errorf("--sys-prefix: no Python with Jupyter found (tried %s); install Jupyter or use --user or --prefix DIR", strings.Join(tried, ", "))
}

// pythonCandidates lists the Pythons that may run Jupyter, most likely
// first: the interpreter named by the `jupyter` script's #! line,
// /usr/bin/python3 and python3 on PATH.
func pythonCandidates() []string {
	var list []string
	add := func(p string) {
		for _, q := range list {
			if q == p {
				return
			}
		}
		list = append(list, p)
	}
	if jupyter, err := exec.LookPath("jupyter"); err == nil {
		if py := shebangPython(jupyter); py != "" {
			add(py)
		}
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		add("/usr/bin/python3")
	}
	if py, err := exec.LookPath("python3"); err == nil {
		add(py)
	}
	if py, err := exec.LookPath("python"); err == nil {
		add(py)
	}
	return list
}

// shebangPython returns the interpreter of a script's "#!" line when it is
// an absolute path to a Python, or "".
func shebangPython(script string) string {
	f, err := os.Open(script)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := f.Read(buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	if !strings.HasPrefix(line, "#!") {
		return ""
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 || !filepath.IsAbs(fields[0]) {
		return ""
	}
	if strings.HasPrefix(filepath.Base(fields[0]), "python") {
		return fields[0]
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 && strings.HasPrefix(fields[1], "python") {
		if py, err := exec.LookPath(fields[1]); err == nil {
			return py
		}
	}
	return ""
}
