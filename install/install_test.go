package install

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeBinary creates an executable file standing for the perfnb binary.
func fakeBinary(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "perfnb")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

// isolate points every directory Jupyter looks at into a fresh temporary
// directory and returns it.
func isolate(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	t.Setenv("HOME", filepath.Join(root, "home"))
	t.Setenv("JUPYTER_DATA_DIR", "")
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("APPDATA", "")
	return root
}

func TestKernelsDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the expected user directories are Linux's")
	}
	root := isolate(t)
	fakePython := filepath.Join(root, "python3")
	script := "#!/bin/sh\necho " + filepath.Join(root, "venv") + "\n"
	if err := os.WriteFile(fakePython, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		opts Options
		want string
	}{
		{"default is user", nil, Options{}, filepath.Join(root, "home/.local/share/jupyter/kernels")},
		{"user", nil, Options{User: true}, filepath.Join(root, "home/.local/share/jupyter/kernels")},
		{"user with XDG_DATA_HOME", map[string]string{"XDG_DATA_HOME": filepath.Join(root, "xdg")}, Options{User: true}, filepath.Join(root, "xdg/jupyter/kernels")},
		{"user with JUPYTER_DATA_DIR", map[string]string{"JUPYTER_DATA_DIR": filepath.Join(root, "jdd"), "XDG_DATA_HOME": filepath.Join(root, "xdg")}, Options{User: true}, filepath.Join(root, "jdd/kernels")},
		{"prefix", nil, Options{Prefix: filepath.Join(root, "pfx")}, filepath.Join(root, "pfx/share/jupyter/kernels")},
		{"sys-prefix", nil, Options{SysPrefix: true, Python: fakePython}, filepath.Join(root, "venv/share/jupyter/kernels")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := KernelsDir(tt.opts)
			if err != nil {
				t.Fatalf("KernelsDir(%+v): %v", tt.opts, err)
			}
			if got != tt.want {
				t.Errorf("KernelsDir(%+v) = %s, want %s", tt.opts, got, tt.want)
			}
		})
	}
}

func TestKernelsDirErrors(t *testing.T) {
	root := isolate(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"two modes", Options{User: true, Prefix: root}, "only one of"},
		{"three modes", Options{User: true, SysPrefix: true, Prefix: root}, "only one of"},
		{"sys-prefix without Jupyter", Options{SysPrefix: true, Python: filepath.Join(root, "no-such-python")}, "no Python with Jupyter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := KernelsDir(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("KernelsDir(%+v) error = %v, want one containing %q", tt.opts, err, tt.want)
			}
		})
	}
}

func TestInstall(t *testing.T) {
	root := isolate(t)
	exe := fakeBinary(t)
	tests := []struct {
		name        string
		opts        Options
		wantDir     string
		wantDisplay string
	}{
		{"defaults", Options{Prefix: root}, filepath.Join(root, "share/jupyter/kernels/perfnb"), "Go (perfnb)"},
		{"name and display name", Options{Prefix: root, Name: "go-perf_2.0", DisplayName: "Go 2"}, filepath.Join(root, "share/jupyter/kernels/go-perf_2.0"), "Go 2"},
		{"name is lowercased as Jupyter does", Options{Prefix: root, Name: "PerfNB"}, filepath.Join(root, "share/jupyter/kernels/perfnb"), "Go (perfnb)"},
		{"user data dir", Options{User: true}, filepath.Join(root, "home/.local/share/jupyter/kernels/perfnb"), "Go (perfnb)"},
	}
	if runtime.GOOS != "linux" {
		tests = tests[:3]
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Executable = exe
			dir, err := Install(tt.opts)
			if err != nil {
				t.Fatalf("Install: %v", err)
			}
			if dir != tt.wantDir {
				t.Errorf("Install returned %s, want %s", dir, tt.wantDir)
			}
			data, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
			if err != nil {
				t.Fatal(err)
			}
			var spec map[string]any
			if err := json.Unmarshal(data, &spec); err != nil {
				t.Fatalf("kernel.json is not JSON: %v\n%s", err, data)
			}
			argv, _ := spec["argv"].([]any)
			if len(argv) != 3 || argv[0] != exe || argv[1] != "kernel" || argv[2] != "{connection_file}" {
				t.Errorf("argv = %v, want [%s kernel {connection_file}]", spec["argv"], exe)
			}
			if spec["display_name"] != tt.wantDisplay {
				t.Errorf("display_name = %v, want %q", spec["display_name"], tt.wantDisplay)
			}
			if spec["language"] != "go" {
				t.Errorf("language = %v, want go", spec["language"])
			}
			if spec["interrupt_mode"] != "message" {
				t.Errorf("interrupt_mode = %v, want message", spec["interrupt_mode"])
			}
			if _, ok := spec["metadata"].(map[string]any); !ok {
				t.Errorf("metadata = %v, want an object", spec["metadata"])
			}
			for file, size := range map[string]int{"logo-32x32.png": 32, "logo-64x64.png": 64} {
				b, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				if r := img.Bounds(); r.Dx() != size || r.Dy() != size {
					t.Errorf("%s is %dx%d, want %dx%d", file, r.Dx(), r.Dy(), size, size)
				}
			}
			svg, err := os.ReadFile(filepath.Join(dir, "logo-svg.svg"))
			if err != nil || !bytes.Contains(svg, []byte("<svg")) {
				t.Errorf("logo-svg.svg missing or not SVG: %v", err)
			}
			entries, err := os.ReadDir(filepath.Dir(dir))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary directory %s left behind", e.Name())
				}
			}
		})
	}
}

func TestInstallReplaces(t *testing.T) {
	root := isolate(t)
	exe := fakeBinary(t)
	dir, err := Install(Options{Prefix: root, Executable: exe, DisplayName: "old"})
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "stale.txt")
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(Options{Prefix: root, Executable: exe, DisplayName: "new"}); err != nil {
		t.Fatal(err)
	}
	var spec KernelSpec
	data, _ := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.DisplayName != "new" {
		t.Errorf("display_name after reinstall = %q, want new", spec.DisplayName)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("reinstall kept a stale file of the old kernelspec")
	}
}

func TestInstallBadInput(t *testing.T) {
	root := isolate(t)
	exe := fakeBinary(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"space in name", Options{Name: "go perf"}, "invalid kernelspec name"},
		{"slash in name", Options{Name: "../evil"}, "invalid kernelspec name"},
		{"dot dot", Options{Name: ".."}, "invalid kernelspec name"},
		{"unicode", Options{Name: "gö"}, "invalid kernelspec name"},
		{"missing binary", Options{Executable: filepath.Join(root, "nope")}, "perfnb binary"},
		{"two modes", Options{User: true, Prefix: root}, "only one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Executable == "" {
				tt.opts.Executable = exe
			}
			if tt.opts.Prefix == "" && !tt.opts.User {
				tt.opts.Prefix = root
			}
			dir, err := Install(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Install(%+v) = %q, %v; want an error containing %q", tt.opts, dir, err, tt.want)
			}
			if _, err := Uninstall(tt.opts); err == nil {
				t.Errorf("Uninstall(%+v) succeeded, want an error", tt.opts)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(root, "share")); err == nil {
		t.Errorf("a failed install created %s/share", root)
	}
}

func TestUninstall(t *testing.T) {
	root := isolate(t)
	exe := fakeBinary(t)
	opts := Options{Prefix: root, Name: "perfnb-test", Executable: exe}
	dir, err := Install(opts)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Install(Options{Prefix: root, Name: "other", Executable: exe})
	if err != nil {
		t.Fatal(err)
	}
	removed, err := Uninstall(opts)
	if err != nil {
		t.Fatalf("Uninstall: %v", err)
	}
	if removed != dir {
		t.Errorf("Uninstall removed %s, want %s", removed, dir)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Uninstall (%v)", dir, err)
	}
	if _, err := os.Stat(filepath.Join(other, "kernel.json")); err != nil {
		t.Errorf("Uninstall removed another kernelspec: %v", err)
	}
	if _, err := Uninstall(opts); err == nil || !strings.Contains(err.Error(), "no kernelspec") {
		t.Errorf("second Uninstall error = %v, want one saying there is no kernelspec", err)
	}
}

func TestIsGoRunBinary(t *testing.T) {
	tmp := os.TempDir()
	tests := []struct {
		exe  string
		want bool
	}{
		{filepath.Join(tmp, "go-build1234", "b001", "exe", "perfnb"), true},
		{filepath.Join(tmp, "perfnb"), false},
		{"/usr/local/bin/perfnb", false},
	}
	for _, tt := range tests {
		if got := isGoRunBinary(tt.exe); got != tt.want {
			t.Errorf("isGoRunBinary(%s) = %v, want %v", tt.exe, got, tt.want)
		}
	}
}

func TestShebangPython(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, script, want string
	}{
		{"direct", "#!/usr/bin/python3\nimport sys\n", "/usr/bin/python3"},
		{"with flag", "#!/opt/venv/bin/python3.11 -s\n", "/opt/venv/bin/python3.11"},
		{"not python", "#!/bin/sh\n", ""},
		{"no shebang", "print(1)\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, []byte(tt.script), 0o755); err != nil {
				t.Fatal(err)
			}
			if got := shebangPython(path); got != tt.want {
				t.Errorf("shebangPython = %q, want %q", got, tt.want)
			}
		})
	}
}
