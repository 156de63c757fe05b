package modules

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/traefik/yaegi/extract"
)

// extractEnv names the environment variable that makes a binary linking
// this package write the symbol table of a package and exit (see init).
const extractEnv = "PERFNB_EXTRACT_SYMBOLS"

// init turns the process into the symbol-table extractor when extractEnv
// names a package: the running binary (perfnb, or a test binary) re-runs
// itself for that, so that the table is written by the very yaegi version
// that will read it. go/importer's source importer finds packages from
// the current directory and the environment (GOWORK), which the extractor
// gets for itself in its own process.
func init() {
	path := os.Getenv(extractEnv)
	if path == "" {
		return
	}
	e := &extract.Extractor{Dest: "main"}
	_, err := e.Extract(path, "", os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// extract writes the symbol table of the package at path into dir, with
// yaegi's extract, run in a child process in dir.
func (n *Notebook) extract(ctx context.Context, dir, path string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding perfnb's executable to extract the symbols of %s: %w", path, err)
	}
	cmd := n.command(ctx, dir, append(n.Env(n.workPath()), extractEnv+"="+path), "")
	cmd.Path, cmd.Args = self, []string{self}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("extracting the symbols of %s was interrupted: %w", path, context.Canceled)
	case err != nil:
		return fmt.Errorf("yaegi could not read the API of %s: %s", path, strings.TrimSpace(stderr.String()+" "+err.Error()))
	}
	if err := os.WriteFile(filepath.Join(dir, "symbols_extracted.go"), out.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the symbols of %s: %w", path, err)
	}
	return nil
}
