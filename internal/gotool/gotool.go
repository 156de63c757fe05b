// Package gotool is perfnb's one way to the Go toolchain: it finds the go
// command, gives each use of it the environment that use needs, and runs
// the queries perfnb makes of it (its version and GOROOT, the export data
// of packages).
//
// Every use runs the local toolchain (GOTOOLCHAIN=local: perfnb builds
// with the Go the user has, never one downloaded behind their back), in
// module mode, for the host (GOOS and GOARCH as the machine's), without
// VCS stamping; what else a use needs is its Policy.
package gotool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotFound is the error of Find when there is no go command.
var ErrNotFound = errors.New("the go command was not found on PATH (nor in GOROOT, /usr/local/go or /usr/lib/go)")

// Find returns the go command of the environment environ: the first on
// its PATH, else the one of its GOROOT, /usr/local/go or /usr/lib/go.
func Find(environ []string) (string, error) {
	path, goroot := lookup(environ, "PATH"), lookup(environ, "GOROOT")
	dirs := filepath.SplitList(path)
	for _, root := range []string{goroot, "/usr/local/go", "/usr/lib/go"} {
		if root != "" {
			dirs = append(dirs, filepath.Join(root, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "go")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// lookup returns the value of key in environ, the last one set.
func lookup(environ []string, key string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// Policy is what a use of the go command may do beyond building for the
// host with the local toolchain.
type Policy struct {
	// Offline forbids downloads (GOPROXY=off): the standard library and
	// perfnb's own workspace need none, and the type checker must never
	// download behind a cell.
	Offline bool
	// Work is the go.work file to use, "off" for none, or "" for what the
	// go command finds itself (the user's).
	Work string
	// UserFlags keeps the user's GOFLAGS (proxy settings, private
	// modules...), without those workspaces refuse (-mod, -modfile) or
	// that change what is built (-buildvcs); otherwise GOFLAGS is only
	// perfnb's.
	UserFlags bool
}

// Env returns environ as the go command needs it under p.
func Env(environ []string, p Policy) []string {
	drop := map[string]bool{"GOFLAGS": true, "GOTOOLCHAIN": true, "GOWORK": true,
		"GO111MODULE": true, "GOOS": true, "GOARCH": true}
	if p.Offline {
		drop["GOPROXY"] = true
	}
	var env, flags []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if k == "GOFLAGS" && p.UserFlags {
			for _, f := range strings.Fields(v) {
				if !strings.HasPrefix(f, "-mod=") && !strings.HasPrefix(f, "-buildvcs") && !strings.HasPrefix(f, "-modfile") {
					flags = append(flags, f)
				}
			}
		}
		if !drop[k] {
			env = append(env, kv)
		}
	}
	flags = append(flags, "-buildvcs=false")
	env = append(env, "GOFLAGS="+strings.Join(flags, " "), "GOTOOLCHAIN=local", "GO111MODULE=on")
	if p.Work != "" {
		env = append(env, "GOWORK="+p.Work)
	}
	if p.Offline {
		env = append(env, "GOPROXY=off")
	}
	return env
}

// Version returns the version of the go command goCmd, as go.mod writes
// it ("1.26.8").
func Version(goCmd string) (string, error) {
	out, err := query(goCmd, "GOVERSION")
	if err != nil {
		return "", fmt.Errorf("asking the go command for its version: %w", err)
	}
	return ModVersion(out), nil
}

// ModVersion turns a toolchain's GOVERSION ("go1.26.8", "go1.27rc1
// X:...") into a version go.mod and go.work accept ("1.26.8", "1.27"); a
// development toolchain gets 1.24, the first with testing.B.Loop.
func ModVersion(v string) string {
	v, _, _ = strings.Cut(strings.TrimPrefix(strings.TrimSpace(v), "go"), " ")
	end := 0
	for end < len(v) && (v[end] == '.' || '0' <= v[end] && v[end] <= '9') {
		end++
	}
	v = strings.Trim(v[:end], ".")
	if strings.Count(v, ".") < 1 {
		return "1.24"
	}
	return v
}

// GOROOT returns the GOROOT of the go command goCmd.
func GOROOT(goCmd string) (string, error) {
	return query(goCmd, "GOROOT")
}

// ToolDir returns the directory of the compiler and the linker of the go
// command goCmd.
func ToolDir(goCmd string) (string, error) {
	return query(goCmd, "GOTOOLDIR")
}

// query runs go env name outside any module.
func query(goCmd, name string) (string, error) {
	cmd := exec.Command(goCmd, "env", name)
	cmd.Dir = os.TempDir()
	cmd.Env = Env(os.Environ(), Policy{Offline: true, Work: "off"})
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// ListExport runs go list -export -deps for paths in dir with env and
// returns the export data file of each package listed. A path the go
// command cannot resolve is reported in the error with the go command's
// words; cancelling ctx stops the go command.
func ListExport(ctx context.Context, goCmd, dir string, env, paths []string) (map[string]string, error) {
	args := append([]string{"list", "-e", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}\t{{with .Error}}{{.Err}}{{end}}"}, paths...)
	cmd := Command(ctx, goCmd, dir, env, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	found := map[string]string{}
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 3)
		if len(f) < 3 {
			continue
		}
		if f[2] != "" {
			errs = append(errs, errors.New(firstLine(f[2])))
			continue
		}
		found[f[0]] = f[1]
	}
	if err != nil && len(found) == 0 {
		errs = append(errs, fmt.Errorf("go list: %w: %s", err, firstLine(stderr.String())))
	}
	return found, errors.Join(errs...)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
