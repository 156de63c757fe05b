// Package native compiles Go code with the real toolchain and runs it in a
// child process: one workspace module per kernel, go test -c with the
// user's build cache, a child in its own process group with time and
// memory limits, and errors mapped back to cell lines.
package native

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/perfnb/perfnb/runtime/cell"
)

// Module is the import path of the workspace's module, which is the
// generated test package's: its functions are named "perfnbcell.f" in
// profiles and traces, and the harness is the package Module + "/harness".
const Module = "perfnbcell"

// Snippet is Go source taken from a cell, with the cell line it starts on,
// so that errors and profiles point back into the cell.
type Snippet struct {
	Source string
	Cell   int // execution count of the cell (the n of In[n])
	Line   int // line in that cell where Source starts
	// Col is the column of that line where Source starts (1 when 0), for
	// a statement that follows a magic on the same line.
	Col int
}

// Benchmark is one generated benchmark function:
//
//	func Benchmark<Name>(b *testing.B) {
//		b.Cleanup(harness.RedirectStdout())
//		<Setup>
//		<BeforeLoop>
//		for b.Loop() { <Body> }
//		<AfterLoop>
//	}
//
// (b is renamed when the cell's code uses that name; BeforeLoop and
// AfterLoop follow the renaming.)
//
// Variables the body declares with := are used, and expression statements
// are kept alive, so that any statement IPython's %timeit accepts compiles
// and measures real work.
type Benchmark struct {
	Name       string
	Setup      Snippet
	Body       Snippet
	BeforeLoop string // Go source, not from a cell (harness calls)
	AfterLoop  string // Go source, not from a cell (harness calls)
}

// Program is a test package generated from the declaration store and a
// magic's code.
type Program struct {
	Decls      []cell.Decl
	Benchmarks []Benchmark
	// GCFlags are extra compiler flags for the generated package only
	// (go test -c -gcflags=...), such as -m=2 to have the compiler report
	// its inlining and escape decisions; the binary's CompilerOutput
	// holds what it reported.
	GCFlags []string
	// Symbols keeps the symbol table in the binary, for disassembly; by
	// default it is stripped, which only shortens the link.
	Symbols bool
}

// Binary is a compiled test binary in a workspace.
type Binary struct {
	Path      string
	BuildTime time.Duration
	// CompilerOutput is what the compiler printed for a build that
	// succeeded: its diagnostics when Program.GCFlags asked for them,
	// with positions in cells (In[3]:5: moved to heap: x). The cache
	// replays them when the package was already built.
	CompilerOutput string

	state *carriedState // the notebook's values it carries; nil: none
	noted atomic.Bool   // the notes about state were written
	runs  atomic.Int64  // runs started, to name their reports
}

// RunOptions controls one run of a Binary.
type RunOptions struct {
	Args        []string      // test flags, e.g. -test.bench=^BenchmarkCell$
	Env         []string      // added to the environment
	Timeout     time.Duration // 0: no time limit
	MemoryLimit int64         // bytes of resident memory; 0: the default share of the machine
	// Output, when not nil, receives what the child prints that is not a
	// benchmark result line, as it prints it (capped).
	Output io.Writer
	// Stderr, when not nil, receives what the child writes on its standard
	// error (capped, without a panic's trace, which goes into the error);
	// when nil, that goes to Output too.
	Stderr io.Writer
	// OutputLimit caps what Output and Stderr receive together, in bytes;
	// 0 means DefaultOutputLimit, NoOutputLimit no cap (the writers cap).
	// Beyond it, one line says the output was truncated and the rest is
	// discarded.
	OutputLimit int
}

// RunResult is what a finished run produced.
type RunResult struct {
	// Bench holds the benchmark result lines and configuration lines
	// ("goos: linux", "BenchmarkCell-2  100  12.5 ns/op ..."), for benchfmt.
	Bench []byte
	// PeakRSS is the child's peak resident set size in bytes (VmHWM), if known.
	PeakRSS int64
	Elapsed time.Duration
}

// Workspace is a Go module in a temporary directory, reused by every build
// of one kernel so that the build cache keeps rebuilds fast. The module
// holds the generated test package and, under harness/, the child side of
// runtime/harness, importable as "perfnbcell/harness".
type Workspace struct {
	dir       string
	goCmd     string   // the go command
	goVersion string   // the toolchain's version, for go.mod ("1.26.8")
	env       []string // the go command's environment; nil: goEnv()

	mu      sync.Mutex             // serialises builds
	seq     int                    // number of the last build
	bins    []builtFile            // the files of the builds kept, oldest first
	built   map[string]builtBinary // binaries that serve again, by program
	values  ValueSource            // the notebook's values (SetValues); nil: none
	types   TypeSource             // the types of the notebook's variables (SetTypes)
	encoded EncodedSource          // values the interpreter does not hold (SetEncoded)
	// versions and cache: encodings kept while their variable's version
	// holds (SetVersions).
	versions ValueVersion
	cache    map[string]cachedValue
	// parsed keeps the store's declarations parsed between programs.
	parsed declCache
	// direct builds compiled cells without the go command when it can.
	direct directBuild
}

// NewWorkspace creates a workspace in a new temporary directory below
// parent ("" for the system's temporary directory).
func NewWorkspace(parent string) (*Workspace, error) {
	return newWorkspace(parent)
}

// Dir is the workspace's directory; profiles can be written below it.
func (w *Workspace) Dir() string { return w.dir }

// Build generates the program's test file, builds it with go test -c and
// returns the binary. A compile error is returned as an error whose text
// names cell lines (In[3]:5:2: undefined: x).
func (w *Workspace) Build(ctx context.Context, p Program) (*Binary, error) {
	return w.build(ctx, p)
}

// Run runs the binary. A panic, os.Exit, crash, timeout, exceeded memory
// limit or interrupt becomes an error that says so in words, with cell line
// numbers; cancelling ctx kills the child's process group within a second.
func (w *Workspace) Run(ctx context.Context, b *Binary, opts RunOptions) (*RunResult, error) {
	return w.run(ctx, b, opts)
}

// Close removes the workspace and everything in it.
func (w *Workspace) Close() error {
	if w == nil || w.dir == "" {
		return nil
	}
	if err := os.RemoveAll(w.dir); err != nil {
		return fmt.Errorf("removing the native workspace: %w", err)
	}
	return nil
}
