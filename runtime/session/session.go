// Package session implements protocol.Interpreter for Go: it routes each
// cell's items to the yaegi interpreter, the compiler or magics, keeps the
// declaration store, and turns failures into cell errors.
//
// A cell is parsed once with cell.ParseIn, type-checked as Go against the
// store (runtime/check: a cell that does not compile fails with the
// compiler's errors and defines nothing), and its items run in order: Go
// items by the interpreter (runtime/interp), %magics by the magics
// registry, name? by the inspector, which answers with a "page" payload.
// The declarations of the items that ran enter the store when the cell
// ends, also when a later item failed (as IPython keeps what ran before an
// exception); while a cell runs, the interpreter and the magics see the
// store plus the declarations of the cell's items that have already run.
package session

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"go/types"
	"reflect"
	"runtime"
	"strings"
	"sync"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/check"
	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/interp"
	"github.com/perfnb/perfnb/runtime/modules"
	"github.com/perfnb/perfnb/runtime/native"
)

// Options configures a Session.
type Options struct {
	// Magics are the magics cells can call; nil means none.
	Magics *magics.Registry
	// Version is perfnb's version, reported in kernel_info.
	Version string
	// TempDir is where the native workspace is created ("" for the
	// system's temporary directory).
	TempDir string
	// Modules, when not nil, is the notebook's module context: cells and
	// magics import the packages of the notebook's module and third-party
	// modules through it, and the type checker resolves imports in it.
	Modules *modules.Notebook
}

// evaluator runs Go items; *interp.Interp is the real one, tests use a
// fake.
type evaluator interface {
	// Eval evaluates one Import, Declaration, Statement or Expression
	// item of cell In[count]; output goes to pub.
	Eval(ctx context.Context, item cell.Item, count int, pub protocol.Publisher) (value reflect.Value, hasValue bool, err error)
	// SetVar defines or replaces a variable later cells can use.
	SetVar(name string, value any) error
	// Close releases the interpreter.
	Close() error
}

// interruptedValue is the evalue of a cell interrupted between items or
// in the interpreter.
const interruptedValue = interp.InterruptedValue

// Session is one kernel's Go state.
type Session struct {
	opts    Options
	eval    evaluator
	evalErr error // why the interpreter could not start, if it could not
	// checker type-checks each cell before it runs; nil when it could not
	// start (and in tests with a fake evaluator): cells then run unchecked.
	checker *check.Checker
	checkMu sync.Mutex // the checker is used by one goroutine at a time
	// checkedSources are the source stamps of the notebook's packages
	// when the checker last checked (see refreshChecker).
	checkedSources map[string]string
	progs          []*check.Program // the programs checked of the running cell
	fset           *token.FileSet   // the syntax trees of the cells
	fetch          fetchTo          // the cell being checked
	// checkCells says whether cells are checked before they run (not in
	// tests with a fake evaluator, whose cells need not be valid Go).
	checkCells bool
	// prog is the checker's view of the store at storeVersion
	// progVersion, for completion and inspection.
	prog         *check.Program
	progVersion  int
	storeVersion int // counts changes of the store

	mu    sync.Mutex  // guards store, running and added (Decls may be called from the interpreter's goroutines)
	store *cell.Store // declarations of the successful cells
	// running holds, while a cell runs, the declarations of its items
	// that have run, which enter the store when it ends.
	running []cell.Decl
	// added holds what the store took since DeclChanges was last called,
	// in order; addedAll says to report all of the store instead.
	added    []cell.Decl
	addedAll bool

	wsMu      sync.Mutex // guards workspace: Warm creates it in the background
	workspace *native.Workspace

	docs *docIndex

	// slowValues holds the variables whose values took longer than
	// slowValue to save, with the declaration they had then: SaveValues
	// leaves them out until they are declared again.
	slowValues map[string]cell.Decl
	// What SaveValues returned last, and what it knows of each variable.
	lastSaved    []harness.SavedVar
	lastSkipped  []string
	saved        map[string]*savedVar
	order        []*savedVar // the variables of the last save, in store order
	saveGen      uint64      // counts the passes of SaveValues
	savedVersion uint64      // the store's version at the last save
	retrySave    bool        // the last save left variables out for want of room or time
	linkedOrder  []string    // see saver.linkedOrder
	// changed is what the cells run since the last SaveValues may have
	// changed.
	changed check.Changes

	// engine is the engine the notebook asked for (%engine); forceCompiled,
	// while a %%go cell runs, says why it runs compiled.
	engine        Engine
	forceCompiled string
	// magicVars are the variables that magics set (%timeit -v NAME), by
	// name, with the magic: their values are of perfnb's own types,
	// which only the interpreter holds. Guarded by mu.
	magicVars map[string]string
	// nativeValues holds the values of the variables that only the
	// compiler holds (cell.Decl.Native), encoded.
	nativeValues map[string]nativeValue
	// versions count the changes each variable's value may have had (see
	// versions.go).
	versions map[string]uint64
}

// New returns a fresh session with its interpreter.
func New(opts Options) *Session {
	s := newSession(opts, nil)
	s.eval, s.evalErr = newInterp(opts.Modules)
	s.checkCells = true
	return s
}

// newSession returns a session that evaluates with ev (tests pass a fake).
func newSession(opts Options, ev evaluator) *Session {
	if opts.Magics == nil {
		opts.Magics = magics.NewRegistry()
	}
	s := &Session{opts: opts, eval: ev, store: cell.NewStore(), docs: newDocIndex(), fset: token.NewFileSet(),
		nativeValues: map[string]nativeValue{},
		versions:     map[string]uint64{}}
	if c, err := newChecker(s.fset, opts.Modules, &s.fetch, nil); err == nil {
		s.checker = c
	}
	return s
}

var _ protocol.Interpreter = (*Session)(nil)

// Decls returns the declarations the running cell can use: those of the
// successful earlier cells, plus, while a cell runs, those of its items
// that have already run. It is safe for concurrent use.
func (s *Session) Decls() []cell.Decl {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.running) > 0 {
		all := s.store.Clone()
		all.Add(s.running...)
		return all.Decls()
	}
	return s.store.Decls()
}

// DeclChanges returns the declarations the store took since it was last
// called, in the order it took them, so that a copy of the store that
// takes them too stays equal to it; after a restore, all says that the
// declarations returned are all those in force.
func (s *Session) DeclChanges() (decls []cell.Decl, all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addedAll {
		s.added, s.addedAll = nil, false
		return s.store.Decls(), true
	}
	decls, s.added = s.added, nil
	return decls, false
}

// Store returns the declaration store (not safe for use while a cell runs).
func (s *Session) Store() *cell.Store { return s.store }

// Info describes the kernel for kernel_info_reply.
func (s *Session) Info() protocol.Info { return KernelInfo(s.opts.Version) }

// KernelInfo describes perfnb at version for kernel_info_reply; the kernel
// process answers with it without asking the interpreter process.
func KernelInfo(version string) protocol.Info {
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	return protocol.Info{
		Implementation:        "perfnb",
		ImplementationVersion: version,
		Language: protocol.LanguageInfo{
			Name:              "go",
			Version:           goVersion,
			Mimetype:          "text/x-go",
			FileExtension:     ".go",
			PygmentsLexer:     "go",
			CodemirrorMode:    "go",
			NBConvertExporter: "script",
		},
		Banner: fmt.Sprintf("perfnb %s: Go %s for performance experiments.\n"+
			"Cells are interpreted by yaegi; %%timeit, %%memit and %%scalene compile them natively.\n"+
			"Type name? for documentation, Tab to complete.", version, goVersion),
		HelpLinks: []protocol.HelpLink{
			{Text: "Go documentation", URL: "https://go.dev/doc/"},
			{Text: "Go standard library", URL: "https://pkg.go.dev/std"},
			{Text: "perfnb README", URL: "https://github.com/perfnb/perfnb#readme"},
		},
	}
}

// Execute runs one cell: its items in order, stopping at the first error.
// A cell that does not compile defines nothing; in a cell that fails
// while it runs, the declarations of the items that ran are kept.
func (s *Session) Execute(ctx context.Context, req protocol.ExecuteRequest, pub protocol.Publisher) protocol.ExecuteResult {
	res := s.execute(ctx, req, pub)
	if res.Error == nil && len(req.UserExpressions) > 0 {
		res.UserExpressions = s.userExpressions(ctx, req.UserExpressions, req.ExecutionCount)
	}
	return res
}

// valueReader is implemented by an evaluator that can read the current
// value of a package-level variable (*interp.Interp).
type valueReader interface {
	Value(name string) (reflect.Value, bool)
}

// cellEnder is implemented by an evaluator that has work to do when a
// cell's items have run (*interp.Interp: the cell's deferred calls).
type cellEnder interface {
	EndCell(ctx context.Context, count int, pub protocol.Publisher) error
}

func (s *Session) execute(ctx context.Context, req protocol.ExecuteRequest, pub protocol.Publisher) (res protocol.ExecuteResult) {
	count := req.ExecutionCount
	code := req.Code
	items, err := cell.ParseIn(s.fset, code)
	if err != nil {
		return protocol.ExecuteResult{Error: syntaxError(err, code, count)}
	}
	if body, ok := goCellBody(items, code); ok {
		// %%go: the body is Go, run compiled, at its lines of the cell.
		if items, err = cell.ParseIn(s.fset, body); err != nil {
			return protocol.ExecuteResult{Error: syntaxError(err, body, count)}
		}
		code = body
		s.forceCompiled = "the cell is %%go"
		defer func() { s.forceCompiled = "" }()
	}
	s.fetch = fetchTo{ctx, pub}
	// The store keeps the cell's declarations as written (orig), whatever
	// the interpreter runs (items, with the checker's fixes).
	orig := items
	items, prog, err := s.check(ctx, code, items, count)
	s.fetch = fetchTo{}
	if err != nil {
		return protocol.ExecuteResult{Error: err.(*protocol.Error)}
	}
	if len(items) != len(orig) {
		orig = items
	}
	var decls []cell.Decl
	defer func() {
		s.mu.Lock()
		s.running = nil
		// What ran is kept, as in IPython, also when a later item
		// failed: the interpreter holds it too.
		s.store.Add(decls...)
		s.added = append(s.added, decls...)
		s.storeVersion++
		s.mu.Unlock()
		s.commit(items, decls)
	}()
	if ce, ok := s.eval.(cellEnder); ok {
		// Runs before the deferred function above stores the cell's
		// declarations, so that a failing deferred call fails the cell.
		defer func() {
			err := guard(func() error { return ce.EndCell(ctx, count, pub) })
			if err != nil && res.Error == nil {
				res = protocol.ExecuteResult{Error: cellError(ctx, err)}
			}
		}()
	}
	keep := func(only map[string]string, from, to int) {
		for _, it := range orig[from:to] {
			for j := range it.Decls {
				it.Decls[j].Cell = count
				it.Decls[j].Native = only[it.Decls[j].Name]
			}
			it.Decls = s.namedImports(it.Decls)
			decls = append(decls, it.Decls...)
			s.mu.Lock()
			s.running = append(s.running, it.Decls...)
			s.mu.Unlock()
		}
	}

	checked := segmentEnd(items, 0)
	for i := 0; i < len(items); i++ {
		it := items[i]
		if ctx.Err() != nil {
			return protocol.ExecuteResult{Error: interrupted()}
		}
		if i >= checked {
			var err error
			if checked, prog, err = s.checkRest(ctx, items, i, count); err != nil {
				return protocol.ExecuteResult{Error: err.(*protocol.Error)}
			}
		}
		if it.Syntax != nil && s.checker != nil && s.checkCells {
			why := s.compiledWhy(prog, items[i:checked], count)
			if why == "" && s.engine == Compiled && s.forceCompiled == "" {
				if name, by := s.magicVarUsed(prog, items[i:checked]); name != "" {
					pub.Stream("stderr", fmt.Sprintf("interpreted: uses %s, which %s set to a value of perfnb's own type (compiled cells cannot hold it)\n", name, by))
				}
			}
			if why != "" {
				ran, only, ke := s.runCompiled(ctx, items[i:checked], i, prog, count, why, checked == len(items), &res, pub)
				keep(only, i, i+ran)
				if ke != nil {
					return protocol.ExecuteResult{Error: ke}
				}
				i = checked - 1
				continue
			}
		}
		for j := range it.Decls {
			it.Decls[j].Cell = count
		}
		ke := s.runItem(ctx, it, count, i == len(items)-1, len(items) > 1, &res, pub)
		if ke != nil && ke.Kind() == protocol.CompileError && prog != nil && it.Syntax != nil {
			// Go that checked and that the interpreter could not compile:
			// the compiler runs it and the rest of the segment.
			why := "the interpreter (yaegi) cannot compile it: " + ke.Value
			ran, only, ke := s.runCompiled(ctx, orig[i:checked], i, prog, count, why, checked == len(items), &res, pub)
			keep(only, i, i+ran)
			if ke != nil {
				return protocol.ExecuteResult{Error: ke}
			}
			i = checked - 1
			continue
		}
		if ke != nil {
			return protocol.ExecuteResult{Error: ke}
		}
		keep(nil, i, i+1)
	}
	return res
}

// goCellBody returns the code of a %%go cell with its magic line blanked,
// so that its Go keeps the lines it has in the cell.
func goCellBody(items []cell.Item, code string) (string, bool) {
	if len(items) != 1 || items[0].Kind != cell.CellMagic || items[0].Magic.Name != "go" {
		return "", false
	}
	lines := strings.SplitAfter(strings.ReplaceAll(code, "\r\n", "\n"), "\n")
	k := items[0].Magic.Line - 1
	if k < 0 || k >= len(lines) || strings.TrimSpace(items[0].Magic.Args) != "" {
		return "", false
	}
	lines[k] = "\n"
	return strings.Join(lines, ""), true
}

// runItem runs one item of cell count, which holds other items when
// shared; the value of the cell's last item and help pages go into res.
func (s *Session) runItem(ctx context.Context, it cell.Item, count int, last, shared bool, res *protocol.ExecuteResult, pub protocol.Publisher) *protocol.Error {
	switch it.Kind {
	case cell.Import, cell.Declaration, cell.Statement, cell.Expression:
		if s.eval == nil {
			return s.notStarted()
		}
		var v reflect.Value
		var ok bool
		err := guard(func() (err error) {
			v, ok, err = s.eval.Eval(ctx, it, count, pub)
			return err
		})
		if err != nil {
			return cellError(ctx, err)
		}
		if last && it.Kind == cell.Expression && ok {
			res.Data = valueBundle(v)
		}
	case cell.LineMagic, cell.CellMagic:
		var v any
		err := guard(func() (err error) {
			v, err = s.runMagic(ctx, magics.Call{Magic: *it.Magic, Count: count, Shared: shared}, pub)
			return err
		})
		if err != nil {
			return cellError(ctx, err)
		}
		if last && v != nil {
			res.Data = valueBundle(reflect.ValueOf(v))
		}
	case cell.Help:
		text, _ := s.help(it.Source, it.Detail)
		res.Payload = append(res.Payload, map[string]any{
			"source": "page",
			"data":   map[string]any{"text/plain": text},
			"start":  0,
		})
	}
	return nil
}

// check type-checks the Go items of a cell against the store; a cell
// that does not compile fails with the compiler's errors before any of
// its items runs, and so defines nothing. It returns the items to run:
// those given, or, when the interpreter needs the checker's fixes (see
// check.Program.Fixes), the items of the fixed code.
//
// The items after a magic are checked when the magic has run (see
// checkRest), since it may define what they use (%timeit -v r).
func (s *Session) check(ctx context.Context, code string, items []cell.Item, count int) ([]cell.Item, *check.Program, error) {
	s.progs = s.progs[:0]
	first := items[:segmentEnd(items, 0)]
	if !hasGo(first) {
		return items, nil, nil
	}
	if s.checker == nil || !s.checkCells {
		s.allMayHaveChanged() // unchecked code
		return items, nil, nil
	}
	prog, err := s.checkItems(ctx, first, count)
	if err != nil {
		return nil, nil, err
	}
	if s.compiledWhy(prog, first, count) != "" {
		return items, prog, nil // the compiler runs them as they are
	}
	edits := prog.Fixes(first, interp.RuntimeName)
	if len(first) == len(items) {
		edits = append(edits, prog.ShowFix(items[len(items)-1], interp.RuntimeName)...)
	}
	if len(edits) > 0 {
		fixed := check.Apply(strings.ReplaceAll(code, "\r\n", "\n"), edits)
		if again, err := cell.ParseIn(s.fset, fixed); err == nil {
			return again, prog, nil
		}
	}
	return items, prog, nil
}

// refreshChecker replaces the checker when a package of the notebook's
// modules was edited since it last checked: its export data, and the
// types of the cells that used the package, are of the old source, and a
// valid cell using what the edit added would not check. The new checker
// checks the store in full, once. s.checkMu is held.
func (s *Session) refreshChecker() {
	if s.opts.Modules == nil {
		return
	}
	now := s.opts.Modules.SourceStamps()
	stale := false
	for path, stamp := range now {
		if old, ok := s.checkedSources[path]; ok && old != stamp {
			stale = true
		}
	}
	s.checkedSources = now
	if !stale {
		return
	}
	if c, err := newChecker(s.fset, s.opts.Modules, &s.fetch, s.checker); err == nil {
		s.checker = c
	}
}

// checkItems checks items of cell count against the store and the items
// of the cell checked before them. What the items may change is noted at
// once, before they run (and before Fixes changes their syntax): a magic
// later in the cell must not carry a value encoded before the change.
func (s *Session) checkItems(ctx context.Context, items []cell.Item, count int) (*check.Program, error) {
	s.checkMu.Lock()
	s.refreshChecker()
	prog, err := s.checker.Check(ctx, s.store, items, count)
	var changes check.Changes
	if prog != nil {
		changes = prog.MayChange()
	}
	s.checkMu.Unlock()
	if ctx.Err() != nil {
		return nil, interrupted()
	}
	var ce *check.Error
	if errors.As(err, &ce) {
		return nil, compileError(ce)
	}
	if prog == nil {
		return nil, protocol.NewError(protocol.Generic, fmt.Sprintf("type-checking the cell: %v", err))
	}
	s.progs = append(s.progs, prog)
	s.noteChanges(changes)
	return prog, nil
}

// checkRest checks the Go items of a cell from items[from] to the next
// magic, once what ran before them is in running (and in the checker,
// which checked them); it returns where the checked items end.
func (s *Session) checkRest(ctx context.Context, items []cell.Item, from, count int) (int, *check.Program, error) {
	end := segmentEnd(items, from)
	if s.checker == nil || !s.checkCells || !hasGo(items[from:end]) {
		return end, nil, nil
	}
	prog, err := s.checkItems(ctx, items[from:end], count)
	if err != nil {
		return end, nil, err
	}
	return end, prog, nil
}

// segmentEnd returns the index of the first magic item at or after from,
// or len(items).
func segmentEnd(items []cell.Item, from int) int {
	for i := from; i < len(items); i++ {
		if items[i].Kind == cell.LineMagic || items[i].Kind == cell.CellMagic {
			return i
		}
	}
	return len(items)
}

// hasGo reports whether items hold Go code.
func hasGo(items []cell.Item) bool {
	for _, it := range items {
		if it.Syntax != nil {
			return true
		}
	}
	return false
}

// compileError is the cell's error for the checker's errors.
func compileError(ce *check.Error) *protocol.Error {
	tb := make([]string, 0, len(ce.Diags))
	for _, d := range ce.Diags {
		for _, l := range strings.Split(d.String(), "\n") {
			tb = append(tb, "CompileError: "+l)
		}
	}
	value, _, _ := strings.Cut(ce.Diags[0].String(), "\n")
	return protocol.NewError(protocol.CompileError, value, tb...)
}

// runMagic runs a %line or %%cell magic.
func (s *Session) runMagic(ctx context.Context, call magics.Call, pub protocol.Publisher) (any, error) {
	env := magics.Env{
		Version:   s.opts.Version,
		Decls:     s.Decls(),
		Publisher: pub,
		Workspace: s.Workspace,
		Engine:    s.setEngine,
		SetVar: func(name string, value any) error {
			if s.eval == nil {
				return fmt.Errorf("the Go interpreter could not start: %w", s.evalErr)
			}
			if err := s.eval.SetVar(name, value); err != nil {
				return err
			}
			s.mu.Lock()
			if s.magicVars == nil {
				s.magicVars = map[string]string{}
			}
			s.magicVars[name] = "%" + call.Name + " -v"
			s.mu.Unlock()
			s.mayHaveChanged(name)
			if s.checker != nil && value != nil {
				return s.checker.SetVar(name, reflect.TypeOf(value))
			}
			return nil
		},
	}
	return s.opts.Magics.Run(ctx, call, env)
}

// Workspace returns the session's native workspace, creating it on first
// use; it is removed at Shutdown. A failure is not kept: the next magic
// tries again, so that a cause the user removes (a full disk, a missing
// toolchain) does not fail every later magic until a restart.
func (s *Session) Workspace() (*native.Workspace, error) {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	if s.workspace == nil {
		ws, err := native.NewWorkspace(s.opts.TempDir)
		if err == nil && s.opts.Modules != nil {
			if err = ws.UseModules(s.opts.Modules); err != nil {
				ws.Close()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("creating the native build workspace: %w", err)
		}
		if vr, ok := s.eval.(valueReader); ok {
			// Magics start from the values the notebook holds, unless
			// goroutines that cells started run: reading a value one of
			// them writes (a map) would end the process.
			ws.SetValues(func(name string) (reflect.Value, bool) {
				if s.goroutinesRun() {
					return reflect.Value{}, false
				}
				return vr.Value(name)
			})
		}
		ws.SetTypes(s.varTypes)
		ws.SetEncoded(s.nativeValueOf)
		ws.SetVersions(s.valueVersion)
		s.workspace = ws
	}
	return s.workspace, nil
}

// varTypes gives the native workspace the types the checker gave the
// notebook's variables names (native.TypeSource): those of the store
// and of the running cell's items checked so far, which the magic's or
// the compiled cell's program declares. A magic alone in its cell first
// takes in the edits of the notebook's packages, as a Go cell would.
func (s *Session) varTypes(ctx context.Context, names []string) (map[string]types.Type, error) {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	if s.checker == nil || !s.checkCells {
		return nil, errors.New("the type checker is not running")
	}
	if len(s.progs) == 0 {
		s.refreshChecker()
	}
	prog, err := s.checker.Check(ctx, s.store, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("type-checking the notebook: %w", err)
	}
	out := make(map[string]types.Type, len(names))
	for _, n := range names {
		if t := prog.VarType(n); t != nil {
			out[n] = t
		}
	}
	return out, nil
}

// valueBundle renders a cell's value: text/plain with fmt's %v (or the
// String method of a value that has one), and text/html when the value has
// an HTML() string method.
func valueBundle(v reflect.Value) protocol.Bundle {
	if !v.IsValid() {
		return protocol.Bundle{"text/plain": "<nil>"}
	}
	b := protocol.Bundle{"text/plain": fmt.Sprintf("%v", v)}
	if v.CanInterface() {
		if h, ok := v.Interface().(interface{ HTML() string }); ok {
			if html := safeCall(h.HTML); html != "" {
				b["text/html"] = html
			}
		}
	}
	return b
}

// guard calls f, turning a panic that escapes it into an error, so that a
// bug in the interpreter or a magic fails the cell, not the kernel.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = protocol.NewError(protocol.Panic, fmt.Sprint(r),
				fmt.Sprintf("panic: %v", r), "(inside perfnb, not in the cell: please report it)")
		}
	}()
	return f()
}

// safeCall calls f, turning a panic into an empty string.
func safeCall(f func() string) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	return f()
}

// interrupted is the error of a cell interrupted between items.
func interrupted() *protocol.Error {
	return protocol.NewError(protocol.Interrupted, interruptedValue)
}

// notStarted is the error of Go code when the interpreter could not start.
func (s *Session) notStarted() *protocol.Error {
	return protocol.NewError(protocol.Generic, fmt.Sprintf("the Go interpreter could not start: %v", s.evalErr))
}

// cellError turns an item's failure into the cell's error. A
// *protocol.Error passes through as it was made; the other errors are
// Generic, or Interrupted when the cell was. An interrupted cell's error
// is Interrupted, with the words of the one that stopped (a magic says
// that it stopped its child).
func cellError(ctx context.Context, err error) *protocol.Error {
	var ke *protocol.Error
	isKernel := errors.As(err, &ke)
	switch {
	case isKernel && ke.Kind() == protocol.Interrupted:
		return ke
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return interrupted()
	case isKernel:
		return ke
	}
	return protocol.NewError(protocol.Generic, err.Error(), err.Error())
}

// syntaxError turns a cell.Parse error into a SyntaxError, with the line
// of the cell and a caret under the column in its traceback.
func syntaxError(err error, code string, count int) *protocol.Error {
	var se *cell.SyntaxError
	if !errors.As(err, &se) {
		return protocol.NewError(protocol.SyntaxError, fmt.Sprintf("%s: %v", cell.File(count), err))
	}
	msg := fmt.Sprintf("%s: %s", cell.Pos{Cell: count, Line: se.Line, Col: se.Col}, se.Msg)
	tb := []string{string(protocol.SyntaxError) + ": " + msg}
	lines := strings.Split(strings.ReplaceAll(code, "\r\n", "\n"), "\n")
	if se.Line >= 1 && se.Line <= len(lines) {
		line := lines[se.Line-1]
		tb = append(tb, "    "+strings.ReplaceAll(line, "\t", "    "))
		col := se.Col - 1
		if col > len(line) {
			col = len(line)
		}
		if col >= 0 {
			prefix := strings.ReplaceAll(line[:col], "\t", "    ")
			tb = append(tb, "    "+strings.Repeat(" ", len([]rune(prefix)))+"^")
		}
	}
	return protocol.NewError(protocol.SyntaxError, msg, tb...)
}

// discard is a Publisher that drops everything (for user_expressions).
type discard struct{}

func (discard) Stream(string, string)                                 {}
func (discard) Display(protocol.Bundle, map[string]any, string)       {}
func (discard) UpdateDisplay(protocol.Bundle, map[string]any, string) {}
func (discard) ClearOutput(bool)                                      {}
func (discard) Input(context.Context, string, bool) (string, error) {
	return "", protocol.ErrStdinNotAllowed
}

// userExpressions evaluates the user_expressions of an execute_request.
func (s *Session) userExpressions(ctx context.Context, exprs map[string]string, count int) map[string]any {
	out := make(map[string]any, len(exprs))
	s.allMayHaveChanged() // unchecked code
	for name, expr := range exprs {
		out[name] = s.userExpression(ctx, expr, count)
	}
	return out
}

func (s *Session) userExpression(ctx context.Context, expr string, count int) map[string]any {
	fail := func(e *protocol.Error) map[string]any {
		return map[string]any{"status": "error", "ename": e.Name, "evalue": e.Value, "traceback": e.Lines()}
	}
	if s.eval == nil {
		return fail(s.notStarted())
	}
	items, err := cell.Parse(expr)
	if err != nil {
		return fail(syntaxError(err, expr, count))
	}
	if len(items) != 1 || items[0].Kind != cell.Expression {
		return fail(protocol.NewError(protocol.SyntaxError, fmt.Sprintf("not a Go expression: %q", expr)))
	}
	var v reflect.Value
	var ok bool
	err = guard(func() (err error) {
		v, ok, err = s.eval.Eval(ctx, items[0], count, discard{})
		return err
	})
	if err != nil {
		return fail(cellError(ctx, err))
	}
	data := protocol.Bundle{"text/plain": ""}
	if ok {
		data = valueBundle(v)
	}
	return map[string]any{"status": "ok", "data": data, "metadata": map[string]any{}}
}

// History answers nothing: the history is the kernel process's (the
// supervisor records it, so that it survives the interpreter process),
// and the interpreter process keeps none of it.
func (s *Session) History(protocol.HistoryQuery) []protocol.HistoryEntry {
	return nil
}

// IsComplete says whether code is ready to run (for jupyter console).
func (s *Session) IsComplete(code string) protocol.Completeness {
	status, indent := cell.IsComplete(code)
	return protocol.Completeness{Status: status, Indent: indent}
}

// Warm prepares, in the background, what the first compiled cell or
// magic needs whatever the cell: the native workspace, with the harness,
// the display package and the testing package compiled into the build
// cache. The first measurement then waits only for its own build. Errors
// are left to that first use, which reports them.
func (s *Session) Warm(ctx context.Context) {
	go func() {
		if ws, err := s.Workspace(); err == nil {
			_ = ws.Warm(ctx)
		}
	}()
}

// Shutdown removes the native workspace and closes the interpreter.
func (s *Session) Shutdown(restart bool) error {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	var errs []error
	if s.workspace != nil {
		if err := s.workspace.Close(); err != nil {
			errs = append(errs, fmt.Errorf("removing the native workspace: %w", err))
		}
		s.workspace = nil
	}
	if s.eval != nil {
		if err := s.eval.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the interpreter: %w", err))
		}
	}
	return errors.Join(errs...)
}
