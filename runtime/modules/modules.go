// Package modules gives a notebook the Go packages that are not in the
// standard library: those of the module the notebook's folder is in, and
// third-party modules, obtained by the go command as `go get` would.
//
// A Notebook is the notebook's view of modules. Its state lives in a
// directory of its own (see Open):
//
//	go.mod     the notebook's module: the requirements cells add, by
//	           importing a package or with %go get
//	go.work    a workspace with the notebook's module and the user's
//	           module (and the modules of the user's go.work), so that
//	           the user's requirements and versions apply
//	plugin/    a module whose packages are Go plugins, one per imported
//	           package, holding its symbols for the interpreter
//	gopath/    a GOPATH of links to package sources, for the interpreter's
//	           source import, the fallback when a plugin cannot be built
//
// Every go command runs with the user's environment (GOPROXY, GOFLAGS,
// GONOSUMDB, GOPRIVATE...), except that the toolchain is the local one
// (plugins need the toolchain that built perfnb) and the workspace is the
// notebook's.
package modules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/mod/modfile"

	"github.com/perfnb/perfnb/internal/gotool"
)

// ModulePath is the module path of a notebook's own module.
const ModulePath = "perfnb.local/notebook"

// pluginModule is the module path of the plugins' module.
const pluginModule = "perfnb.local/plugin"

// Options configures Open.
type Options struct {
	// Folder is the notebook's folder; "" means the current directory.
	Folder string
	// StateDir is the notebook's own directory; "" means a directory
	// below the user's cache directory named after Folder, so that the
	// requirements a notebook added survive a restart of the kernel.
	StateDir string
	// Environ is the environment the go command starts from; nil means
	// os.Environ().
	Environ []string
	// Extractor is the command, with its first arguments, that writes
	// the symbol table of the package its last argument names on its
	// standard output (see ExtractArg and SelfExtractor). Nil means no
	// plugins: interpreted cells read a package's source instead.
	Extractor []string
}

// Notebook is the module context of one notebook. Its methods are safe for
// concurrent use; go commands that change the notebook's module run one at
// a time.
type Notebook struct {
	folder    string
	dir       string // the state directory
	goCmd     string
	version   string   // the toolchain's version, "1.26.8"
	goVer     string   // the toolchain's GOVERSION, "go1.26.8"
	proxy     string   // GOPROXY
	modCache  string   // GOMODCACHE
	environ   []string // the user's environment
	userMod   string   // the user's module directory ("" outside any module)
	userPath  string   // its module path
	userWork  string   // the user's go.work ("" when none)
	extractor []string // Options.Extractor

	initMu  sync.Mutex // guards located and the fields locate sets
	located bool       // locate and populate succeeded

	importMu sync.Mutex // serialises Import

	mu       sync.Mutex                  // serialises go commands that change the module
	shown    map[string]bool             // modules whose version was announced
	packages map[string]*Package         // imported packages, by import path
	natives  map[string]*NativeOnlyError // packages only the magics can use, by import path
}

// Open returns the module context of the notebook in opts.Folder. It only
// fails when there is no go command or no state directory; the folder's
// module is looked up in the background, and the methods that need it
// wait for it.
func Open(ctx context.Context, opts Options) (*Notebook, error) {
	folder := opts.Folder
	if folder == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("finding the notebook's folder: %w", err)
		}
		folder = wd
	}
	folder, err := filepath.Abs(folder)
	if err != nil {
		return nil, fmt.Errorf("finding the notebook's folder: %w", err)
	}
	n := &Notebook{folder: folder, environ: opts.Environ, extractor: opts.Extractor, shown: map[string]bool{}, packages: map[string]*Package{}, natives: map[string]*NativeOnlyError{}}
	if n.environ == nil {
		n.environ = os.Environ()
	}
	if n.goCmd, err = gotool.Find(n.environ); err != nil {
		return nil, err
	}
	n.dir = opts.StateDir
	if n.dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("finding a directory for the notebook's module: %w", err)
		}
		sum := sha256.Sum256([]byte(folder))
		n.dir = filepath.Join(cache, "perfnb", "notebooks", filepath.Base(folder)+"-"+hex.EncodeToString(sum[:6]))
	}
	if err := os.MkdirAll(n.dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the notebook's module: %w", err)
	}
	// Look the folder's module up while the kernel starts, ahead of the
	// first cell that needs it.
	go n.ready(context.Background())
	return n, nil
}

// ready asks the go command about the notebook's folder and creates the
// state directory, once (again after a failure): Open stays cheap for a
// kernel whose cells never import such a package.
func (n *Notebook) ready(ctx context.Context) error {
	n.initMu.Lock()
	defer n.initMu.Unlock()
	if n.located {
		return nil
	}
	if err := n.locate(ctx); err != nil {
		return err
	}
	if err := n.populate(); err != nil {
		return err
	}
	n.located = true
	return nil
}

// Folder is the notebook's folder.
func (n *Notebook) Folder() string { return n.folder }

// Dir is the notebook's state directory, whose go.mod is the notebook's
// own module.
func (n *Notebook) Dir() string { return n.dir }

// UserModule returns the directory and path of the module the notebook's
// folder is in, or "", "" outside any module.
func (n *Notebook) UserModule(ctx context.Context) (dir, path string, err error) {
	if err := n.ready(ctx); err != nil {
		return "", "", err
	}
	return n.userMod, n.userPath, nil
}

// GoPath is the GOPATH for the interpreter's source import.
func (n *Notebook) GoPath() string { return filepath.Join(n.dir, "gopath") }

// locate asks the go command, in the notebook's folder, which module and
// workspace the folder belongs to, and the toolchain's version.
func (n *Notebook) locate(ctx context.Context) error {
	var out strings.Builder
	cmd := n.command(ctx, n.folder, n.userEnv(), "env", "-json", "GOMOD", "GOWORK", "GOVERSION", "GOPROXY", "GOMODCACHE")
	cmd.Stdout = &out
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("go env was interrupted: %w", context.Canceled)
		}
		return fmt.Errorf("asking the go command about the notebook's folder %s: %w: %s", n.folder, err, strings.TrimSpace(stderr.String()))
	}
	var env struct{ GOMOD, GOWORK, GOVERSION, GOPROXY, GOMODCACHE string }
	if err := json.Unmarshal([]byte(out.String()), &env); err != nil {
		return fmt.Errorf("reading go env's answer: %w", err)
	}
	n.goVer = env.GOVERSION
	n.proxy, n.modCache = env.GOPROXY, env.GOMODCACHE
	n.version = gotool.ModVersion(env.GOVERSION)
	n.userWork = env.GOWORK
	if env.GOMOD != "" && env.GOMOD != os.DevNull {
		n.userMod = filepath.Dir(env.GOMOD)
		b, err := os.ReadFile(env.GOMOD)
		if err != nil {
			return fmt.Errorf("reading the notebook's module: %w", err)
		}
		n.userPath = modfile.ModulePath(b)
	}
	return nil
}

// populate creates the state directory's modules and go.work, keeping a
// go.mod that exists (the requirements of an earlier session).
func (n *Notebook) populate() error {
	for _, m := range []struct{ dir, path string }{{n.dir, ModulePath}, {filepath.Join(n.dir, "plugin"), pluginModule}} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return fmt.Errorf("creating the notebook's module: %w", err)
		}
		gomod := filepath.Join(m.dir, "go.mod")
		if _, err := os.Stat(gomod); err == nil {
			continue
		}
		content := fmt.Sprintf("module %s\n\ngo %s\n", m.path, n.version)
		if err := os.WriteFile(gomod, []byte(content), 0o644); err != nil {
			return fmt.Errorf("creating the notebook's module: %w", err)
		}
	}
	work, err := n.workFile(filepath.Join(n.dir, "plugin"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.dir, "go.work"), work, 0o644); err != nil {
		return fmt.Errorf("writing the notebook's go.work: %w", err)
	}
	return nil
}

// WorkFile returns a go.work that uses the notebook's module, the user's
// module (or the modules and replacements of the user's go.work) and the
// module directories extra: a module built with it sees the notebook's
// packages and requirements.
func (n *Notebook) WorkFile(extra ...string) ([]byte, error) {
	if err := n.ready(context.Background()); err != nil {
		return nil, err
	}
	return n.workFile(extra...)
}

// workFile is WorkFile, once ready.
func (n *Notebook) workFile(extra ...string) ([]byte, error) {
	wf, err := modfile.ParseWork("go.work", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("writing a go.work: %w", err)
	}
	if err := wf.AddGoStmt(n.version); err != nil {
		return nil, fmt.Errorf("writing a go.work: %w", err)
	}
	uses := append([]string{n.dir}, extra...)
	if n.userWork != "" {
		b, err := os.ReadFile(n.userWork)
		if err != nil {
			return nil, fmt.Errorf("reading the notebook's go.work: %w", err)
		}
		user, err := modfile.ParseWork(n.userWork, b, nil)
		if err != nil {
			return nil, fmt.Errorf("reading the notebook's go.work: %w", err)
		}
		base := filepath.Dir(n.userWork)
		for _, u := range user.Use {
			uses = append(uses, absUnder(base, u.Path))
		}
		for _, r := range user.Replace {
			newPath := r.New.Path
			if r.New.Version == "" {
				newPath = absUnder(base, newPath)
			}
			if err := wf.AddReplace(r.Old.Path, r.Old.Version, newPath, r.New.Version); err != nil {
				return nil, fmt.Errorf("copying the notebook's go.work: %w", err)
			}
		}
	} else if n.userMod != "" {
		uses = append(uses, n.userMod)
	}
	seen := map[string]bool{}
	for _, u := range uses {
		if !seen[u] {
			seen[u] = true
			if err := wf.AddUse(u, ""); err != nil {
				return nil, fmt.Errorf("writing a go.work: %w", err)
			}
		}
	}
	return modfile.Format(wf.Syntax), nil
}

// absUnder returns p made absolute relative to base.
func absUnder(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, filepath.FromSlash(p))
}

// Env returns the go command's environment for a build with the go.work
// at work: the user's, with the local toolchain, module mode, no -mod flag
// (workspaces refuse it) and no VCS stamping. It waits until the
// notebook's own go.work exists, for commands that use it.
func (n *Notebook) Env(work string) []string {
	_ = n.ready(context.Background()) // a failure is reported by the methods that need the module
	return append(n.userEnv(), "GOWORK="+work)
}

// userEnv is the user's environment as Env describes it, with the go
// command's own discovery of a workspace file.
func (n *Notebook) userEnv() []string {
	return gotool.Env(n.environ, gotool.Policy{UserFlags: true})
}

// writer returns w, or io.Discard when w is nil.
func writer(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
