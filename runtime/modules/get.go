package modules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// listed is what go list says about one package.
type listed struct {
	ImportPath string
	Name       string
	Dir        string
	Standard   bool
	Module     *struct {
		Path    string
		Version string
		Main    bool
		Dir     string
		Replace *struct {
			Path    string
			Version string
		}
	}
	CgoFiles []string
	SFiles   []string
	Error    *struct{ Err string }
}

// describe names the module of p to the user: path and version, or path
// and directory (relative to the notebook's folder when inside it) for a
// module in the workspace.
func (n *Notebook) describe(p *listed) string {
	m := p.Module
	switch {
	case m == nil:
		return p.ImportPath
	case m.Replace != nil && m.Replace.Version == "":
		return fmt.Sprintf("%s %s => %s", m.Path, m.Version, m.Replace.Path)
	case m.Replace != nil:
		return fmt.Sprintf("%s %s => %s %s", m.Path, m.Version, m.Replace.Path, m.Replace.Version)
	case m.Main || m.Version == "":
		if m.Path == ModulePath {
			return ModulePath + " (the notebook's own module)"
		}
		return fmt.Sprintf("%s (the module in %s)", m.Path, n.shortPath(m.Dir))
	}
	return m.Path + " " + m.Version
}

// shortPath writes p relative to the notebook's folder when it is inside
// it, else with ~ for the home directory, so that saved outputs do not
// carry the machine's absolute paths.
func (n *Notebook) shortPath(p string) string {
	if rel, err := filepath.Rel(n.folder, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	if home, err := os.UserHomeDir(); err == nil && home != "/" && strings.HasPrefix(p, home+string(filepath.Separator)) {
		return "~" + p[len(home):]
	}
	return p
}

// workPath is the notebook's go.work.
func (n *Notebook) workPath() string { return filepath.Join(n.dir, "go.work") }

// list runs go list -deps for path in the notebook's workspace: the
// package's dependencies, then the package, last.
func (n *Notebook) list(ctx context.Context, path string) ([]*listed, error) {
	out, err := n.run(ctx, n.dir, n.Env(n.workPath()), nil, "list", "-e", "-deps",
		"-json=ImportPath,Name,Dir,Standard,Module,CgoFiles,SFiles,Error", "--", path)
	if err != nil {
		return nil, err
	}
	var pkgs []*listed
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		p := new(listed)
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list's answer: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 || pkgs[len(pkgs)-1].ImportPath != path {
		return nil, fmt.Errorf("go list did not describe package %s", path)
	}
	return pkgs, nil
}

// resolve finds the package at path, adding its module to the notebook's
// module with go get when no module in the workspace provides it. Progress
// (go: downloading ...) goes to progress as it happens.
func (n *Notebook) resolve(ctx context.Context, path string, progress io.Writer) ([]*listed, error) {
	pkgs, err := n.list(ctx, path)
	if err != nil {
		return nil, err
	}
	p := pkgs[len(pkgs)-1]
	if p.Error != nil && strings.Contains(p.Error.Err, "no required module provides package") {
		if mod := n.ownModule(path); mod != "" {
			return nil, fmt.Errorf("cannot import %q: module %s has no such package (no Go files in %s)", path, mod, n.dirOf(path))
		}
		fmt.Fprintf(writer(progress), "go: resolving %s\n", path)
		n.mu.Lock()
		_, err := n.run(ctx, n.dir, n.Env(n.workPath()), progress, "get", "--", path)
		n.mu.Unlock()
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, err
			}
			return nil, fmt.Errorf("cannot import %q: the go command could not obtain its module: %s", path, goMessage(err))
		}
		if pkgs, err = n.list(ctx, path); err != nil {
			return nil, err
		}
		p = pkgs[len(pkgs)-1]
	}
	if p.Error != nil {
		return nil, fmt.Errorf("cannot import %q: %s", path, strings.TrimSpace(p.Error.Err))
	}
	if p.Standard {
		return pkgs, nil
	}
	n.announce(pkgs, progress)
	return pkgs, nil
}

// ownModule returns the notebook's module, or the user's, when path is
// inside it, and "" otherwise.
func (n *Notebook) ownModule(path string) string {
	for _, m := range []string{ModulePath, n.userPath} {
		if m != "" && (path == m || strings.HasPrefix(path, m+"/")) {
			return m
		}
	}
	return ""
}

// dirOf returns the directory where the package at path, inside the
// notebook's module or the user's, would be.
func (n *Notebook) dirOf(path string) string {
	if n.userPath != "" && (path == n.userPath || strings.HasPrefix(path, n.userPath+"/")) {
		return filepath.Join(n.userMod, filepath.FromSlash(strings.TrimPrefix(path[len(n.userPath):], "/")))
	}
	return filepath.Join(n.dir, filepath.FromSlash(strings.TrimPrefix(path[len(ModulePath):], "/")))
}

// announce writes, once per module, the version of each module pkgs come
// from, so that a saved notebook records the versions it used.
func (n *Notebook) announce(pkgs []*listed, w io.Writer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range pkgs {
		if p.Module == nil || n.shown[p.Module.Path] {
			continue
		}
		n.shown[p.Module.Path] = true
		fmt.Fprintf(writer(w), "go: using %s\n", n.describe(p))
	}
}

// Get runs go get with args in the notebook's module, which pins or
// upgrades the modules named (MODULE@VERSION, as go get takes them).
// The go command's progress and result go to out as they come.
func (n *Notebook) Get(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: %go get MODULE[@VERSION] ...")
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") && a != "-u" && a != "-t" {
			return fmt.Errorf("%%go get takes modules and -u, not %s", a)
		}
	}
	if err := n.ready(ctx); err != nil {
		return err
	}
	n.mu.Lock()
	_, err := n.run(ctx, n.dir, n.Env(n.workPath()), out, append([]string{"get"}, args...)...)
	loaded := make([]string, 0, len(n.packages))
	for p := range n.packages {
		loaded = append(loaded, p)
	}
	n.mu.Unlock()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("go get %s failed: %s", strings.Join(args, " "), goMessage(err))
	}
	var mods []string
	for _, a := range args {
		if mod, _, _ := strings.Cut(a, "@"); !strings.HasPrefix(mod, "-") {
			mods = append(mods, mod)
		}
	}
	// Say the version each module is at now, which go get leaves
	// unsaid when nothing changed.
	if list, err := n.run(ctx, n.dir, n.Env(n.workPath()), nil, append([]string{"list", "-m", "--"}, mods...)...); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(list), "\n") {
			fmt.Fprintf(writer(out), "go: using %s\n", l)
		}
	}
	for _, p := range loaded {
		for _, a := range args {
			mod, _, _ := strings.Cut(a, "@")
			if p == mod || strings.HasPrefix(p, mod+"/") {
				fmt.Fprintf(writer(out), "%s is loaded in the interpreter: interpreted cells keep the version they loaded until the kernel restarts; the magics build with the new one from now on\n", p)
			}
		}
	}
	return nil
}

// Requirements describes the notebook's modules: the notebook's own
// go.mod, the user's module, and every module in use with its version.
func (n *Notebook) Requirements(ctx context.Context) (string, error) {
	if err := n.ready(ctx); err != nil {
		return "", err
	}
	var b strings.Builder
	gomod := filepath.Join(n.dir, "go.mod")
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", fmt.Errorf("reading the notebook's go.mod: %w", err)
	}
	f, err := modfile.ParseLax(gomod, data, nil)
	if err != nil {
		return "", fmt.Errorf("reading the notebook's go.mod: %w", err)
	}
	fmt.Fprintf(&b, "notebook's module: %s\n", ModulePath)
	if len(f.Require) == 0 {
		b.WriteString("  no requirements: import a package or use %go get MODULE[@VERSION]\n")
	}
	for _, r := range f.Require {
		fmt.Fprintf(&b, "  require %s %s\n", r.Mod.Path, r.Mod.Version)
	}
	if n.userMod != "" {
		fmt.Fprintf(&b, "folder's module: %s (%s)\n", n.userPath, n.shortPath(filepath.Join(n.userMod, "go.mod")))
	} else {
		fmt.Fprintf(&b, "folder's module: none (%s is not inside a Go module)\n", n.folder)
	}
	if n.userWork != "" {
		fmt.Fprintf(&b, "folder's workspace: %s\n", n.shortPath(n.userWork))
	}
	out, err := n.run(ctx, n.dir, n.Env(n.workPath()), nil, "list", "-m", "all")
	if err != nil {
		return "", fmt.Errorf("listing the modules in use: %s", goMessage(err))
	}
	b.WriteString("modules in use (go list -m all):\n")
	if strings.TrimSpace(out) == "" {
		b.WriteString("  none\n")
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && l != ModulePath && l != pluginModule {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String(), nil
}
