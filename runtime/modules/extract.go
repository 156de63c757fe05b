package modules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/traefik/yaegi/extract"

	"github.com/perfnb/perfnb/internal/selfexe"
)

// ExtractArg is the argument that asks a binary to write a package's
// symbol table: `perfnb extract-symbols PACKAGE` (a hidden subcommand),
// or a test binary whose TestMain hands it to ExtractMain. Options.Extractor
// names the binary that serves it.
const ExtractArg = "extract-symbols"

// SelfExtractor is the Extractor of Options for this executable, which
// must serve ExtractArg (perfnb does; a test binary does when its TestMain
// calls ExtractMain): the symbol table is then written by the very yaegi
// version that will read it, with no download and no tool to install.
func SelfExtractor() ([]string, error) {
	self, err := selfexe.Path()
	if err != nil {
		return nil, err
	}
	return []string{self, ExtractArg}, nil
}

// ExtractMain is the main function of ExtractArg: it writes the symbol
// table of the package that args name (one import path) to w, with
// yaegi's extract. go/importer's source importer, which extract uses,
// finds the package from the current directory and the environment
// (GOWORK): the caller runs it in a process of its own, in the right
// directory.
func ExtractMain(args []string, w io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: %s IMPORT_PATH", ExtractArg)
	}
	e := &extract.Extractor{Dest: "main"}
	_, err := e.Extract(args[0], "", w)
	return err
}

// errNoExtractor is why no plugin is built when Options.Extractor is nil.
var errNoExtractor = errors.New("no symbol extractor (Options.Extractor) was given")

// extract writes the symbol table of the package at path into dir, with
// the Extractor run in a child process in dir.
func (n *Notebook) extract(ctx context.Context, dir, path string) error {
	if len(n.extractor) == 0 {
		return errNoExtractor
	}
	cmd := n.command(ctx, dir, n.Env(n.workPath()), "")
	cmd.Path, cmd.Args = n.extractor[0], append(append([]string(nil), n.extractor...), path)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
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
