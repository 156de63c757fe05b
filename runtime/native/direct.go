package native

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/perfnb/perfnb/internal/gotool"
)

// directBuild builds a compiled cell without the go command: the compiler
// and the linker run on the cell's one file, with the archives of its
// dependencies that go list -export left in the build cache. Most of a
// small go build is the go command deciding that no dependency is stale
// (measured on two cores: go build of a cell 0.15 s, compile and link
// alone 0.07 s). For a program of standard packages and the workspace's
// own, which do not change while the kernel runs, that is known once they
// are listed; any other program, or a build the tools refuse (a compile
// error, say), goes through go build, which reports it as usual.
type directBuild struct {
	toolDir string // the compiler's and linker's directory; "" until asked
	// off says that builds go through go build: the toolchain's
	// directory is unknown.
	off bool
	// archives maps each import path listed so far, with the go
	// command's environment env, to its archive in the build cache.
	archives map[string]string
	env      []string
	builds   int // builds made directly, for tests
}

// buildDirect builds the main package of file, which imports the
// packages at imports (standard and workspace packages only: see
// selfContained), into bin, and reports whether it did; false means the
// caller runs go build. The workspace's lock is held.
func (w *Workspace) buildDirect(ctx context.Context, file string, imports []string, bin string) bool {
	d := &w.direct
	if !d.ready(w) {
		return false
	}
	need := []string{"runtime"} // what the linker always needs
	for _, p := range imports {
		if p != "unsafe" { // the compiler's own, without an archive
			need = append(need, p)
		}
	}
	if !d.list(ctx, w, need) {
		return false
	}
	cfg := bin + ".importcfg"
	defer os.Remove(cfg)
	if err := os.WriteFile(cfg, d.importcfg(), 0o644); err != nil {
		return false
	}
	archive := bin + ".a"
	defer os.Remove(archive)
	lang := "go" + strings.Join(strings.SplitN(w.goVersion, ".", 3)[:2], ".")
	steps := [][]string{
		{"compile", "-o", archive, "-p", "main", "-lang=" + lang, "-complete", "-nolocalimports", "-importcfg", cfg, "-pack", file},
		{"link", "-o", bin, "-importcfg", cfg, "-buildmode=exe", "-s", "-w", archive},
	}
	for _, step := range steps {
		cmd := gotool.Command(ctx, filepath.Join(d.toolDir, step[0]), w.dir, w.environ(), step[1:]...)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			os.Remove(bin)
			// The build cache may have lost an archive (go clean
			// -cache): list them again next time.
			d.archives = nil
			return false
		}
	}
	d.builds++
	return true
}

// ready reports whether this build can be direct, finding the tools the
// first time: not when the go command's environment carries the user's
// GOFLAGS, which go build would apply.
func (d *directBuild) ready(w *Workspace) bool {
	env := w.environ()
	if !slices.Contains(env, "GOFLAGS=-buildvcs=false") {
		return false // the user's flags (-gcflags, -tags...) are go build's to apply
	}
	if !slices.Equal(env, d.env) {
		d.archives, d.env = nil, env // listed for another environment (UseModules)
	}
	if d.off || d.toolDir != "" {
		return !d.off
	}
	dir, err := gotool.ToolDir(w.goCmd)
	if err != nil || dir == "" {
		d.off = true
		return false
	}
	d.toolDir = dir
	return true
}

// list makes sure the archives of paths and of their dependencies are
// known, running go list -export for those that are not (which builds
// them into the cache).
func (d *directBuild) list(ctx context.Context, w *Workspace, paths []string) bool {
	var missing []string
	for _, p := range paths {
		if _, ok := d.archives[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return true
	}
	found, err := gotool.ListExport(ctx, w.goCmd, w.dir, w.environ(), missing)
	if err != nil {
		return false
	}
	if d.archives == nil {
		d.archives = map[string]string{}
	}
	for p, a := range found {
		if p == "unsafe" {
			continue // the compiler's own: it has no archive
		}
		if a == "" {
			return false // a package without an archive: go build knows why
		}
		d.archives[p] = a
	}
	return true
}

// importcfg is the import configuration of the compiler and the linker:
// every archive known.
func (d *directBuild) importcfg() []byte {
	var b bytes.Buffer
	for _, p := range slices.Sorted(maps.Keys(d.archives)) {
		fmt.Fprintf(&b, "packagefile %s=%s\n", p, d.archives[p])
	}
	return b.Bytes()
}
