package modules

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"plugin"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
)

// host describes the running binary, which a plugin must match.
type host struct {
	goVersion string            // runtime.Version()
	deps      map[string]string // module path to version (after replacement)
	cgo       bool              // built with cgo: plugin.Open works
	flags     []string          // build flags a plugin must share (-trimpath, -race, -tags)
}

// thisHost reads the running binary's build information.
func thisHost() host {
	h := host{goVersion: runtime.Version(), deps: map[string]string{}, cgo: true}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return h
	}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		h.deps[d.Path] = d.Version
	}
	for _, s := range bi.Settings {
		switch {
		case s.Key == "CGO_ENABLED" && s.Value == "0":
			h.cgo = false
		case s.Key == "-trimpath" && s.Value == "true", s.Key == "-race" && s.Value == "true":
			h.flags = append(h.flags, s.Key)
		case s.Key == "-tags" && s.Value != "":
			h.flags = append(h.flags, "-tags="+s.Value)
		}
	}
	return h
}

// check says why a plugin of pkgs (a package and its dependencies) could
// not load in this binary, or returns nil.
func (h host) check(toolchain string, pkgs []*listed) error {
	switch {
	case runtime.GOOS != "linux" && runtime.GOOS != "darwin":
		return fmt.Errorf("Go plugins work on Linux and macOS only, not %s", runtime.GOOS)
	case !h.cgo:
		return errors.New("perfnb was built with CGO_ENABLED=0, and loading a plugin needs cgo")
	case toolchain != h.goVersion:
		return fmt.Errorf("toolchain mismatch: the go command is %s but perfnb was built with %s, and a plugin must be built by the same toolchain", toolchain, h.goVersion)
	}
	for _, p := range pkgs {
		m := p.Module
		if m == nil || m.Main {
			continue
		}
		v := m.Version
		if m.Replace != nil {
			v = m.Replace.Version
		}
		if hv, ok := h.deps[m.Path]; ok && hv != v {
			return fmt.Errorf("version conflict: %s needs %s %s, but perfnb itself is built with %s %s, and one process cannot hold two versions of a package",
				pkgs[len(pkgs)-1].ImportPath, m.Path, v, m.Path, hv)
		}
	}
	return nil
}

// plugin builds a Go plugin holding the symbol table of the last package
// of pkgs, loads it and returns its symbols.
func (n *Notebook) plugin(ctx context.Context, pkgs []*listed, progress io.Writer) (map[string]map[string]reflect.Value, error) {
	if len(n.extractor) == 0 {
		return nil, errNoExtractor
	}
	h := thisHost()
	if err := h.check(n.goVer, pkgs); err != nil {
		return nil, err
	}
	target := pkgs[len(pkgs)-1]
	// One directory per process: kernels of notebooks in one folder share
	// the state directory.
	id := fmt.Sprintf("%s_%d", strings.NewReplacer("/", "_", ".", "_", "~", "_", "-", "_").Replace(target.ImportPath), os.Getpid())
	root := filepath.Join(n.dir, "plugin")
	dir := filepath.Join(root, id)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("preparing the plugin of %s: %w", target.ImportPath, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("preparing the plugin of %s: %w", target.ImportPath, err)
	}
	defer os.RemoveAll(dir)
	if err := n.extract(ctx, dir, target.ImportPath); err != nil {
		return nil, err
	}
	table := "package main\n\nimport \"reflect\"\n\n// Symbols is the package's symbol table, for the interpreter.\nvar Symbols = map[string]map[string]reflect.Value{}\n"
	if err := os.WriteFile(filepath.Join(dir, "symbols.go"), []byte(table), 0o644); err != nil {
		return nil, fmt.Errorf("writing the plugin of %s: %w", target.ImportPath, err)
	}
	so := filepath.Join(root, id+".so")
	fmt.Fprintf(writer(progress), "go: building %s as a plugin for the interpreter (the first build can take a minute)\n", target.ImportPath)
	args := append([]string{"build", "-buildmode=plugin"}, h.flags...)
	if _, err := n.run(ctx, root, n.Env(n.workPath()), progress, append(args, "-o", so, "./"+id)...); err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, fmt.Errorf("the plugin did not build: %s", briefly(goMessage(err)))
	}
	defer os.Remove(so) // a loaded plugin stays mapped
	return load(so)
}

// load opens the plugin at so and returns its Symbols.
func load(so string) (map[string]map[string]reflect.Value, error) {
	pl, err := plugin.Open(so)
	if err != nil {
		return nil, fmt.Errorf("the plugin did not load: %w", err)
	}
	sym, err := pl.Lookup("Symbols")
	if err != nil {
		return nil, fmt.Errorf("the plugin has no symbol table: %w", err)
	}
	table, ok := sym.(*map[string]map[string]reflect.Value)
	if !ok {
		return nil, fmt.Errorf("the plugin's symbol table has type %T", sym)
	}
	return *table, nil
}

// briefly joins the lines of a go command's message that say something,
// leaving out the "# package" headers.
func briefly(msg string) string {
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "# ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}
