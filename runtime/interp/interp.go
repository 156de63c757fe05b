// Package interp evaluates the Go items of notebook cells with yaegi and
// keeps their state between cells.
//
// One yaegi interpreter lives as long as the kernel. On top of yaegi the
// package adds what a notebook needs:
//
//   - redefinition: funcs, vars and consts are redefined by yaegi itself; a
//     redefined type or method (which yaegi would keep) makes the package
//     build a fresh interpreter and replay its record of declarations with
//     the new definition (see Interp.Eval); a declaration that stopped
//     compiling is dropped with a note and tried again at each later
//     rebuild, so that restoring a type brings back what uses it;
//   - imports on first use: a selector on an undeclared name that is a
//     standard-library package name (or display) imports the package first;
//   - standard streams: fmt.Print*, log, print/println, os.Stdout and
//     os.Stderr publish on the running cell's stdout and stderr streams, and
//     os.Stdin reads lines from the client through Publisher.Input;
//   - safety: os.Exit stops the cell, not the kernel; a panic in a goroutine
//     a cell started, or in a time.AfterFunc or context.AfterFunc callback,
//     is reported on stderr instead of ending the process;
//   - interrupts: cancelling the context stops the cell promptly, time.Sleep
//     included, and keeps every earlier definition;
//   - memory: a watchdog stops a cell whose heap grows past the kernel's
//     memory limit (see sysmem.KernelLimitEnv), before the OOM killer ends the
//     kernel;
//   - Go semantics where yaegi v0.16 departs from them, by rewriting the
//     item's syntax tree, parsed once (see rewrite.go and print.go): range
//     over an integer, per-iteration loop variables (Go 1.22),
//     unsafe.Offsetof of unexported fields, and top-level if, for and
//     switch statements, which are run inside a func literal; package
//     unsafe is available, imported on first use;
//   - var declarations are evaluated where a top-level x := f() puts x
//     (yaegi calls a package-level var initialised from it a "variable
//     definition loop");
//   - errors as *protocol.Error with cell positions In[N]:line:col (an
//     undefined name in a top-level declaration included, which yaegi
//     reports as a "constant definition loop").
package interp

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/scanner"
	"go/token"
	"log"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	yaegi "github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
	yaegiunsafe "github.com/traefik/yaegi/stdlib/unsafe"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/display"
	"github.com/perfnb/perfnb/runtime/modules"
)

// Options configures an Interp.
type Options struct {
	// MemoryLimit is the heap size, in bytes, past which a running cell
	// is stopped with a MemoryLimitExceeded error (see sysmem.KernelLimitEnv).
	// 0 means the default: $PERFNB_KERNEL_MEMORY_LIMIT, else half of the
	// machine's memory; a negative value turns the guard off.
	MemoryLimit int64
	// Packages, when not nil, makes packages outside the standard library
	// importable: the notebook's own and third-party ones (see
	// runtime/modules).
	Packages Importer
}

// Interp evaluates cell items in one persistent Go state. Eval, SetVar and
// Close must be called from one goroutine at a time; the standard streams
// and the display functions are safe to use from goroutines the cells
// start.
type Interp struct {
	opts Options

	cur     *current
	stdout  *stream
	stderr  *stream
	stdin   *stdin
	display *display.Display

	guard   *memGuard // nil when the memory guard is off
	yi      *yaegi.Interpreter
	imports map[string]string // local package name to import path, in yi
	log     *declLog
	// dropped holds the declarations a rebuild dropped because they no
	// longer compiled; each rebuild tries them again, so that restoring
	// a type brings back what uses it.
	dropped *declLog
	vars    map[string]any // values given to SetVar, by name
	// ptrs caches Value's pointers to variables, by name, until the
	// variable is declared again or yaegi replaced: evaluating &x each
	// time would grow yaegi's global frame, which every later Eval copies.
	ptrs   map[string]reflect.Value
	seq    int // numbers temporaries of rewritten go statements
	parses int // items parsed by analyze, which tests count
	closed bool

	intMu       sync.Mutex
	interrupted chan struct{} // closed when an interrupt stopped every goroutine
	stop        *stopper      // the cooperative interrupt (interrupt.go)
	// live counts the goroutines cells started that have not ended, and
	// the callbacks given to time.AfterFunc and context.AfterFunc that
	// have not run to their end (Goroutines).
	live       atomic.Int64
	stoppedAll bool // the last interrupt had to stop every goroutine

	deferMu  sync.Mutex
	deferred []func() // calls deferred by the running cell's own code
	exited   bool     // the running cell called os.Exit: its deferred calls are dropped

	plugins  map[string]*modules.Package         // packages loaded from plugins, by import path, used again on rebuild
	pkgNames map[string]string                   // names of the packages the Importer gave, by import path
	loaded   map[string]*modules.Package         // the packages the Importer gave, by import path
	natives  map[string]*modules.NativeOnlyError // imports only the magics can use, by local name
}

// settle is how long an interrupted evaluation is given to stop.
const settle = 20 * time.Millisecond

// exitError is what os.Exit (and log.Fatal) panics with inside a cell.
type exitError struct {
	code int
	by   string // "log.Fatal", or "" for os.Exit
}

func (e exitError) Error() string {
	if e.by != "" {
		return fmt.Sprintf("%s called (exit status %d): the cell stopped; the kernel keeps running", e.by, e.code)
	}
	return fmt.Sprintf("os.Exit(%d) called: the cell stopped; the kernel keeps running", e.code)
}

// logFatal returns log.Fatal, Fatalf and Fatalln for the interpreter: they
// write with output (a logger on the cell's stderr with the standard
// flags; log.SetPrefix and log.SetFlags do not apply to it) and stop the
// cell as os.Exit(1) does. yaegi makes them panic with the message, which
// then reads as an ordinary panic.
func logFatal(output func(int, string) error) map[string]reflect.Value {
	fatal := func(name, msg string) {
		_ = output(3, msg)
		panic(exitError{code: 1, by: name})
	}
	return map[string]reflect.Value{
		"Fatal":   reflect.ValueOf(func(v ...any) { fatal("log.Fatal", fmt.Sprint(v...)) }),
		"Fatalf":  reflect.ValueOf(func(format string, v ...any) { fatal("log.Fatalf", fmt.Sprintf(format, v...)) }),
		"Fatalln": reflect.ValueOf(func(v ...any) { fatal("log.Fatalln", fmt.Sprintln(v...)) }),
	}
}

// New returns an interpreter with the standard library, the display
// package and a fresh state.
func New(opts Options) (*Interp, error) {
	i := &Interp{
		opts:        opts,
		cur:         &current{},
		imports:     map[string]string{},
		log:         newDeclLog(),
		dropped:     newDeclLog(),
		vars:        map[string]any{},
		interrupted: make(chan struct{}),
		stop:        newStopper(),
	}
	i.stdout = &stream{cur: i.cur, name: "stdout"}
	i.stderr = &stream{cur: i.cur, name: "stderr"}
	i.stdin = &stdin{cur: i.cur}
	i.display = display.New(i.cur.publisher)
	guard, err := newMemGuard(opts.MemoryLimit)
	if err != nil {
		return nil, fmt.Errorf("setting the kernel's memory limit: %w", err)
	}
	i.guard = guard
	yi, err := i.newYaegi()
	if err != nil {
		return nil, err
	}
	i.yi = yi
	return i, nil
}

// newYaegi returns a yaegi interpreter wired to i's streams, with the
// standard library, the display package and perfnb's overrides.
func (i *Interp) newYaegi() (*yaegi.Interpreter, error) {
	yi := yaegi.New(yaegi.Options{
		GoPath: i.goPath(),
		Stdin:  i.stdin,
		Stdout: i.stdout,
		Stderr: &yaegiStderr{cur: i.cur, out: i.stderr},
	})
	if err := yi.Use(stdlib.Symbols); err != nil {
		return nil, fmt.Errorf("loading the standard library into the interpreter: %w", err)
	}
	if err := yi.Use(yaegiunsafe.Symbols); err != nil {
		return nil, fmt.Errorf("loading package unsafe into the interpreter: %w", err)
	}
	osStdin := &File{name: "/dev/stdin", r: i.stdin, fd: 0}
	osStdout := &File{name: "/dev/stdout", w: i.stdout, fd: 1}
	osStderr := &File{name: "/dev/stderr", w: i.stderr, fd: 2}
	err := yi.Use(yaegi.Exports{
		"os/os": {
			"Exit":   reflect.ValueOf(func(code int) { panic(exitError{code: code}) }),
			"Stdin":  reflect.ValueOf(&osStdin).Elem(),
			"Stdout": reflect.ValueOf(&osStdout).Elem(),
			"Stderr": reflect.ValueOf(&osStderr).Elem(),
		},
		"time/time":                     {"Sleep": reflect.ValueOf(i.sleep), "AfterFunc": reflect.ValueOf(i.afterFunc)},
		"context/context":               {"AfterFunc": reflect.ValueOf(i.contextAfterFunc)},
		display.ImportPath + "/display": i.display.Symbols(),
		rtPath + "/rt":                  i.rtSymbols(),
	})
	if err == nil {
		err = yi.Use(yaegi.Exports{"log/log": logFatal(log.New(i.stderr, "", log.LstdFlags).Output)})
	}
	if err != nil {
		return nil, fmt.Errorf("loading perfnb's packages into the interpreter: %w", err)
	}
	for _, pkg := range i.plugins {
		if err := yi.Use(pkg.Symbols); err != nil {
			return nil, fmt.Errorf("loading a plugin's package into the interpreter: %w", err)
		}
	}
	if _, err := yi.Eval(`import ` + rtAlias + ` "` + rtPath + `"`); err != nil {
		return nil, fmt.Errorf("importing perfnb's runtime package: %w", err)
	}
	return yi, nil
}

// rtSymbols are the names of perfnb's runtime package, which rewritten
// code calls.
func (i *Interp) rtSymbols() map[string]reflect.Value {
	m := i.stop.symbols()
	for k, v := range builtinSymbols() {
		m[k] = v
	}
	m["GoPanic"] = reflect.ValueOf(i.goPanic)
	m["GoStart"] = reflect.ValueOf(func() { i.live.Add(1) })
	m["GoBegin"] = reflect.ValueOf(i.stop.goBegin)
	m["GoEnd"] = reflect.ValueOf(func(id int64) { i.stop.goEnd(id); i.live.Add(-1) })
	m["Defer"] = reflect.ValueOf(i.deferCall)
	m["DeferCall"] = reflect.ValueOf(func(f any, args ...any) { i.deferCall(func() { callWith(f, args, false) }) })
	m["DeferCallSpread"] = reflect.ValueOf(func(f any, args ...any) { i.deferCall(func() { callWith(f, args, true) }) })
	m["Offsetof"] = reflect.ValueOf(offsetof)
	return m
}

// sleep replaces time.Sleep so that an interrupt wakes the interrupted
// cell; goroutines of earlier cells sleep on, unless the interrupt had to
// stop them all.
func (i *Interp) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	i.intMu.Lock()
	ch := i.interrupted
	i.intMu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		e := i.stop.epoch()
		select {
		case <-t.C:
			return
		case <-ch:
			return
		case <-e.begun:
			i.stop.poll() // panics on the interrupted cell's goroutine
			select {
			case <-t.C:
				return
			case <-ch:
				return
			case <-e.ended:
			}
		}
	}
}

// Goroutines returns how many goroutines that cells started are running,
// counting the callbacks of time.AfterFunc and context.AfterFunc that have
// not run to their end (one that will never run, its timer stopped, still
// counts). While any runs, cells' values may change under a reader.
func (i *Interp) Goroutines() int64 { return i.live.Load() }

// goPanic reports a panic recovered in a goroutine a cell started.
func (i *Interp) goPanic(r any) {
	var b strings.Builder
	fmt.Fprintf(&b, "panic in goroutine: %s\n", goMessage(cellPos(fmt.Sprint(r))))
	for _, l := range formatTrace(i.cur.takeTrace()) {
		b.WriteString(l + "\n")
	}
	_, _ = i.stderr.Write([]byte(b.String()))
}

// deferCall registers a call a cell deferred at its top level.
func (i *Interp) deferCall(f func()) {
	i.deferMu.Lock()
	i.deferred = append(i.deferred, f)
	i.deferMu.Unlock()
}

// callWith calls the function f with args, the values of a deferred
// call's arguments as the defer statement evaluated them; with spread,
// the last is the slice of a variadic call's f(xs...). An argument that
// was an untyped constant has its default type, converted here to the
// parameter's as Go would have; nil is the parameter's zero value.
func callWith(f any, args []any, spread bool) {
	fv := reflect.ValueOf(f)
	if fv.Kind() != reflect.Func || fv.IsNil() {
		panic(runtimeError("invalid memory address or nil pointer dereference"))
	}
	t := fv.Type()
	in := make([]reflect.Value, len(args))
	for k, a := range args {
		pt := t.In(min(k, t.NumIn()-1))
		if t.IsVariadic() && k >= t.NumIn()-1 && !spread {
			pt = pt.Elem()
		}
		if a == nil {
			in[k] = reflect.Zero(pt)
			continue
		}
		v := reflect.ValueOf(a)
		if !v.Type().AssignableTo(pt) && v.Type().ConvertibleTo(pt) {
			v = v.Convert(pt)
		}
		in[k] = v
	}
	if spread {
		fv.CallSlice(in)
	} else {
		fv.Call(in)
	}
}

// runtimeError is a run-time panic of a deferred call, worded as Go's.
type runtimeError string

func (e runtimeError) Error() string { return "runtime error: " + string(e) }

// RuntimeError marks e as a runtime.Error.
func (e runtimeError) RuntimeError() {}

// EndCell makes the calls that the code of cell count deferred at its top
// level (defer statements outside any func), last deferred first, as a
// function's deferred calls run when it returns; it is called once the
// cell's items have run, whether they succeeded or not (except after
// os.Exit or log.Fatal, which drop them, as in Go). Their output goes
// to pub. A panic in a deferred call is returned as the cell's error.
func (i *Interp) EndCell(ctx context.Context, count int, pub protocol.Publisher) error {
	i.deferMu.Lock()
	calls, exited := i.deferred, i.exited
	i.deferred, i.exited = nil, false
	i.deferMu.Unlock()
	if exited {
		return nil
	}
	if len(calls) == 0 || i.closed {
		return nil
	}
	i.cur.set(ctx, pub, count)
	var first error
	for k := len(calls) - 1; k >= 0; k-- {
		if err := i.callDeferred(calls[k]); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// callDeferred makes one deferred call, turning its panic into the error
// of the cell.
func (i *Interp) callDeferred(f func()) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		var p yaegi.Panic
		if e, ok := r.(error); ok && errors.As(e, &p) {
			r = p.Value
		}
		if e, ok := r.(error); ok {
			var ex exitError
			if errors.As(e, &ex) {
				err = protocol.NewError(protocol.Exit, ex.Error())
				return
			}
		}
		msg := goMessage(cellPos(fmt.Sprint(r)))
		tb := append([]string{"panic: " + msg + " (in a deferred call)"}, formatTrace(i.cur.takeTrace())...)
		err = protocol.NewError(protocol.Panic, firstLine(msg), tb...)
	}()
	f()
	return nil
}

// Close stops the goroutines the cells started (at their next step) and
// releases the interpreter.
func (i *Interp) Close() error {
	if i.closed {
		return nil
	}
	i.closed = true
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = i.yi.EvalWithContext(ctx, "")
	i.markInterrupted()
	i.yi, i.log, i.vars = nil, nil, nil
	i.cur.set(nil, nil, 0)
	return nil
}

func (i *Interp) markInterrupted() {
	i.intMu.Lock()
	close(i.interrupted)
	i.interrupted = make(chan struct{})
	i.intMu.Unlock()
}

// SetVar defines (or replaces) the global name with value, keeping its
// concrete type, so that later cells can use it (fields and methods of a
// struct included).
func (i *Interp) SetVar(name string, value any) error {
	if i.closed {
		return errors.New("the interpreter is closed")
	}
	if !token.IsIdentifier(name) || name == "_" {
		return fmt.Errorf("cannot define %q: not a Go identifier", name)
	}
	if value == nil {
		return fmt.Errorf("cannot define %s from a nil value: its type is unknown", name)
	}
	if err := i.defineVar(i.yi, name, value); err != nil {
		return err
	}
	i.vars[name] = value
	i.log.remove(name)
	delete(i.ptrs, name)
	return nil
}

func (i *Interp) defineVar(yi *yaegi.Interpreter, name string, value any) error {
	err := yi.Use(yaegi.Exports{varsPath + "/vars": {"V_" + name: reflect.ValueOf(value)}})
	if err == nil {
		_, err = yi.Eval(`import ` + varsAlias + ` "` + varsPath + `"`)
		if err != nil && strings.Contains(err.Error(), "redeclared") {
			err = nil
		}
	}
	if err == nil {
		_, err = yi.Eval(`var ` + name + ` = ` + varsAlias + `.V_` + name)
	}
	if err != nil {
		return fmt.Errorf("defining %s in the interpreter: %w", name, err)
	}
	return nil
}

// Eval evaluates one item of cell count. Output goes to pub while it
// runs (and afterwards, from goroutines it started, until the next Eval).
// For an Expression it returns the value, with hasValue false for a call
// without result (or a display handle). A failure is a *protocol.Error.
//
// A trailing call is shown when it has results, except the (int, error)
// of fmt.Println-like writes.
//
// Re-running works: a func, var or const is redefined in place; a
// redefined type or method, or an import of another package under a name
// already in use, makes Eval build a fresh yaegi interpreter and replay
// every recorded declaration with the new one. Replaying re-runs the
// initialisers of package-level variables (including a top-level x :=
// f(), recorded as var x = f()), so their side effects happen again,
// except output: what they print or display is dropped; then
// every variable of plain data type (numbers, strings, and slices, maps,
// arrays, structs and pointers of those) whose type did not change gets its
// previous value back. A recorded declaration that no longer compiles with
// the new definition is dropped, with a note on stderr.
func (i *Interp) Eval(ctx context.Context, item cell.Item, count int, pub protocol.Publisher) (value reflect.Value, hasValue bool, err error) {
	if i.closed {
		return reflect.Value{}, false, protocol.NewError(protocol.Generic, "the interpreter is closed")
	}
	i.cur.set(ctx, pub, count)
	i.stoppedAll = false
	parent := ctx
	stopGuard := func() *protocol.Error { return nil }
	if i.guard != nil {
		ctx, stopGuard = i.guard.watch(ctx)
		defer stopGuard()
	}
	item.Line = max(item.Line, 1)
	src := item.Source
	var a *analysis
	switch item.Kind {
	case cell.Import, cell.Declaration, cell.Statement, cell.Expression:
		a = i.analyze(item.Kind, src)
	}
	if a != nil {
		if err := i.autoImport(ctx, a.pkgs, count, item.Line); err != nil {
			return reflect.Value{}, false, i.toError(ctx, err, count, item.Line)
		}
	}
	// yaegi reports an undefined name in a top-level declaration as a
	// "constant definition loop"; find such a name while yaegi can still
	// tell (see undefinedName), to report it if the evaluation fails.
	var undefined *protocol.Error
	if item.Kind == cell.Declaration || item.Kind == cell.Statement {
		undefined = i.undefinedError(a, item, count)
	}
	var wrapped []lineRange
	if a != nil {
		if item.Kind != cell.Import {
			wrapped = a.rewrite(item.Kind, count, item.Line, &i.seq, i.intGlobal, i.intResult)
		}
		src = a.t.printItem(count, item.Line)
	}
	switch item.Kind {
	case cell.Import:
		err = i.evalImport(ctx, a, item, count)
	case cell.Declaration:
		err = i.evalDecl(ctx, a, item, src, count)
	case cell.Statement:
		if _, err = i.run(ctx, item.Kind, src, count, item.Line); err == nil {
			decls := item.Decls
			if len(decls) == 0 {
				decls = defineDecls(a, item.Source, count, item.Line)
			}
			i.record(withCell(decls, count, item.Line))
		}
	case cell.Expression:
		value, err = i.run(ctx, item.Kind, src, count, item.Line)
		if err == nil {
			hasValue = i.hasValue(a, value)
		}
	default:
		return reflect.Value{}, false, protocol.NewError(protocol.Generic, "not Go code: the interpreter cannot run magics or help requests")
	}
	if ke := stopGuard(); ke != nil {
		return reflect.Value{}, false, ke
	}
	ctx = parent
	if i.cur.takeStdinRefused() && ctx.Err() == nil {
		return reflect.Value{}, false, stdinNotAllowed()
	}
	if err != nil {
		return reflect.Value{}, false, i.failure(ctx, err, a, item, count, undefined, wrapped)
	}
	if !hasValue {
		value = reflect.Value{}
	}
	return value, hasValue, nil
}

// failure turns err, the failure of item of cell count, into the error
// Eval returns: the interpreter's error explained where yaegi's wording misleads (undefined, the
// undefined name found before the evaluation, if any; a range over an
// integer it cannot tell), with the frames of the rewritten lines
// (wrapped) and of the cell fixed.
func (i *Interp) failure(ctx context.Context, err error, a *analysis, item cell.Item, count int, undefined *protocol.Error, wrapped []lineRange) *protocol.Error {
	ke := i.explainPackage(i.toError(ctx, err, count, item.Line))
	if ke.Kind() == protocol.CompileError && (strings.Contains(ke.Value, "constant definition loop") || cfgPanic.MatchString(ke.Value)) {
		if undefined == nil {
			// A name whose first use failed is left in yaegi's scope
			// as incomplete, so it can still be found after the fact.
			undefined = i.undefinedError(a, item, count)
		}
		if undefined != nil {
			ke = undefined
		}
	}
	if ke.Kind() == protocol.Panic && ke.Value == "nil type" && a != nil && a.suspect != nil {
		l, c := a.pt.LineCol(a.suspect.X.Pos())
		ke = compileError(fmt.Sprintf("%s: cannot range over %s: the interpreter ranges over an integer only when it can tell the expression is one (yaegi: nil type); write the loop as for i := 0; i < n; i++",
			cell.Pos{Cell: count, Line: item.Line + l - 1, Col: c}, a.pt.Source(a.suspect.X)), count, item.Line)
	}
	unwrapFrames(ke, wrapped)
	fixCellFrame(ke, count, item.Line, item.Line+strings.Count(item.Source, "\n"))
	return ke
}

// run evaluates src, whose first line is line of cell count.
func (i *Interp) run(ctx context.Context, kind cell.Kind, src string, count, line int) (reflect.Value, error) {
	code := "\n" + interpDirective(count, line) + "\n" + src
	if kind == cell.Statement || kind == cell.Expression {
		// Make yaegi evaluate statements in its main function even when
		// they start with a keyword such as var or func.
		code = ";" + code
	}
	v, all, err := i.evalInterruptible(ctx, code)
	if all {
		i.stoppedAll = true
		i.markInterrupted()
		// yaegi returns at once and lets the interrupted code stop at its
		// next step in the background; give it that moment before the
		// next evaluation touches the same state.
		time.Sleep(settle)
	}
	return v, err
}

// record adds declarations that were evaluated to the log. A variable
// declared again has new storage: Value's pointer to the old one goes
// (the others' stay valid, however yaegi's frame grows).
func (i *Interp) record(decls []cell.Decl) {
	for _, d := range decls {
		if d.Kind != cell.ImportDecl {
			delete(i.vars, d.Name)
			delete(i.ptrs, d.Name)
		}
		i.log.add(d)
	}
}

// withCell returns decls with their cell set to count (cell.Parse leaves
// it to the store) and a missing line set to line.
func withCell(decls []cell.Decl, count, line int) []cell.Decl {
	out := make([]cell.Decl, len(decls))
	for k, d := range decls {
		d.Cell = count
		if d.Line < 1 {
			d.Line = line
		}
		out[k] = d
	}
	return out
}

// isConst reports whether name is a constant declared by an earlier cell.
func (i *Interp) isConst(name string) bool {
	d, ok := i.log.get(name)
	return ok && d.Kind == cell.ConstDecl
}

// autoImport imports the standard-library packages (and display) that
// names refer to, unless a name is already declared.
func (i *Interp) autoImport(ctx context.Context, names []string, count, line int) error {
	for _, name := range names {
		if _, ok := i.imports[name]; ok {
			continue
		}
		if _, ok := i.log.get(name); ok {
			continue
		}
		if _, ok := i.vars[name]; ok {
			continue
		}
		p, ok := stdPackages()[name]
		if !ok {
			continue
		}
		src := fmt.Sprintf("import %s %q", name, p)
		if _, err := i.run(ctx, cell.Import, src, count, line); err != nil {
			return err
		}
		i.imports[name] = p
		i.log.add(cell.Decl{Kind: cell.ImportDecl, Name: name, Source: src, Cell: count, Line: line})
	}
	return nil
}

// AutoImports returns the import path of every package the interpreter
// holds, by local name: those imported by cells and those imported on
// first use (which the declaration store does not list).
func (i *Interp) AutoImports() map[string]string {
	out := map[string]string{}
	if i.log == nil {
		return out
	}
	for _, d := range i.log.list() {
		if d.Kind == cell.ImportDecl {
			out[d.Name] = i.imports[d.Name]
		}
	}
	return out
}

// evalImport evaluates an Import item spec by spec: an import already in
// place is skipped, one that reuses a name for another path rebuilds.
func (i *Interp) evalImport(ctx context.Context, a *analysis, item cell.Item, count int) error {
	if a == nil {
		_, err := i.run(ctx, item.Kind, item.Source, count, item.Line)
		return err
	}
	var conflict []cell.Decl
	for _, s := range importSpecs(a) {
		alias, p := s[0], s[1]
		pkg, err := i.importPackage(ctx, p)
		var native *modules.NativeOnlyError
		if errors.As(err, &native) {
			i.nativeOnly(native, alias)
			continue
		}
		if err != nil {
			return err
		}
		name := alias
		if name == "" {
			name = stdPackageName(p)
			if pkg != nil {
				name = pkg.Name
			}
		}
		src := fmt.Sprintf("import %s %q", alias, p)
		line := item.Line
		for _, is := range a.file.Imports {
			if is.Path.Value == fmt.Sprintf("%q", p) {
				l, _ := a.pt.LineCol(is.Pos())
				line += l - 1
			}
		}
		if name == "_" || name == "." {
			if _, err := i.run(ctx, cell.Import, src, count, line); err != nil {
				if err := i.importFailed(pkg, err, alias); err != nil {
					return err
				}
			}
			continue
		}
		d := cell.Decl{Kind: cell.ImportDecl, Name: name, Source: fmt.Sprintf("import %s %q", name, p), Cell: count, Line: line}
		if old, ok := i.imports[name]; ok {
			if old != p {
				conflict = append(conflict, d)
			}
			continue
		}
		if _, err := i.run(ctx, cell.Import, src, count, line); err != nil {
			if err := i.importFailed(pkg, err, alias); err != nil {
				return err
			}
			continue
		}
		i.imports[name] = p
		i.log.add(d)
	}
	if len(conflict) > 0 {
		return i.rebuild(ctx, conflict, count)
	}
	return nil
}

// evalDecl evaluates a Declaration item.
func (i *Interp) evalDecl(ctx context.Context, a *analysis, item cell.Item, src string, count int) error {
	decls := withCell(item.Decls, count, item.Line)
	if len(decls) == 0 {
		decls = deriveDecls(a, item.Source, count, item.Line)
	}
	same, rebuild := len(decls) > 0, false
	for _, d := range decls {
		old, ok := i.log.get(key(d))
		if !ok || old.Source != d.Source || (d.Kind != cell.TypeDecl && d.Kind != cell.MethodDecl) {
			same = false
		}
		if ok && old.Source != d.Source && (d.Kind == cell.TypeDecl || d.Kind == cell.MethodDecl || old.Kind == cell.TypeDecl) {
			rebuild = true
		}
	}
	switch {
	case same:
		// Re-running unchanged types and methods: keep the ones in place,
		// so that values of an unchanged type stay compatible with it.
		for _, d := range decls {
			i.log.add(d)
		}
		return nil
	case rebuild:
		return i.rebuild(ctx, decls, count)
	}
	kind := item.Kind
	if onlyVars(decls) {
		// Package-level vars are evaluated as top-level statements, where
		// a top-level x := f() put its x: yaegi reports a var of the
		// package scope initialised from one of the statements' scope
		// (a := 5, then var b = a) as a "variable definition loop".
		kind = cell.Statement
	}
	if _, err := i.run(ctx, kind, src, count, item.Line); err != nil {
		return err
	}
	i.record(decls)
	return nil
}

// onlyVars reports whether decls declare variables only.
func onlyVars(decls []cell.Decl) bool {
	for _, d := range decls {
		if d.Kind != cell.VarDecl {
			return false
		}
	}
	return len(decls) > 0
}

// hasValue says whether the value of an Expression item is to be shown.
func (i *Interp) hasValue(a *analysis, v reflect.Value) bool {
	if !v.IsValid() {
		return false
	}
	if v.Type() == reflect.TypeOf((*display.Handle)(nil)) {
		return false
	}
	if a == nil || a.expr == nil {
		return true
	}
	e := a.expr
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			break
		}
		e = p.X
	}
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return true
	}
	if id, ok := call.Fun.(*ast.Ident); ok && id.Obj == nil && isBuiltin(id.Name) {
		if _, shadowed := i.log.get(id.Name); !shadowed {
			switch id.Name {
			case "print", "println", "panic", "close", "delete", "clear":
				return false
			}
			return true
		}
	}
	if !pureSelector(call.Fun) {
		return true
	}
	fun := a.pt.Source(call.Fun)
	fv, err := i.yi.EvalWithContext(context.Background(), fun)
	if err != nil || !fv.IsValid() || fv.Kind() != reflect.Func {
		return true
	}
	return shownResults(fv.Type())
}

// shownResults reports whether a call of a function of type t has a value
// to show: it has results, and they are not the (n int, err error) of a
// write such as fmt.Println, whose count nobody wants to see.
func shownResults(t reflect.Type) bool {
	switch t.NumOut() {
	case 0:
		return false
	case 2:
		errType := reflect.TypeOf((*error)(nil)).Elem()
		return !(t.Out(0).Kind() == reflect.Int && t.Out(1) == errType)
	}
	return true
}

// rebuild replaces the yaegi interpreter by a fresh one holding the log
// with decls applied. Declarations from earlier cells that no longer
// compile are dropped with a note on stderr; when the new declarations
// themselves fail, the old interpreter stays.
func (i *Interp) rebuild(ctx context.Context, decls []cell.Decl, count int) error {
	next := i.log.clone()
	fresh := map[string]bool{}
	for _, d := range decls {
		next.add(d)
		fresh[key(d)] = true
		if d.Kind != cell.ImportDecl {
			next.remove("import:" + d.Name)
		}
	}
	retried := map[string]bool{}
	for _, d := range i.dropped.list() {
		if _, redefined := next.get(key(d)); !redefined && !fresh[key(d)] {
			next.add(d)
			retried[key(d)] = true
		}
	}
	dropped := newDeclLog()
	var notes []string
	for attempt := 0; ; attempt++ {
		i.cur.mute()
		yi, imports, err := i.replay(ctx, next, fresh)
		i.cur.unmute()
		if err == nil {
			i.restoreVars(yi, next, fresh)
			for _, n := range notes {
				_, _ = i.stderr.Write([]byte(n))
			}
			i.yi, i.imports, i.log, i.dropped = yi, imports, next, dropped
			i.ptrs = nil
			for _, d := range decls {
				delete(i.vars, d.Name)
			}
			return nil
		}
		if ctx.Err() != nil || attempt >= 20 {
			return err
		}
		keys := next.locate(err.Error())
		if len(keys) == 0 {
			return err
		}
		for _, k := range keys {
			if fresh[k] {
				return err
			}
		}
		for _, k := range keys {
			d, _ := next.get(k)
			if !retried[k] {
				notes = append(notes, fmt.Sprintf("note: %s (%s) was dropped: it no longer compiles: %v\n",
					k, cell.Pos{Cell: d.Cell, Line: d.Line}, cellPos(firstLine(err.Error()))))
			}
			dropped.add(d)
			next.remove(k)
		}
	}
}

// replay evaluates the declarations of l in a fresh yaegi interpreter:
// imports one by one, then everything else in one source (yaegi resolves
// the order of package-level declarations), then the SetVar values.
func (i *Interp) replay(ctx context.Context, l *declLog, fresh map[string]bool) (*yaegi.Interpreter, map[string]string, error) {
	yi, err := i.newYaegi()
	if err != nil {
		return nil, nil, err
	}
	imports := map[string]string{}
	var b strings.Builder
	seen := map[string]bool{}
	for _, d := range l.list() {
		if d.Kind == cell.ImportDecl {
			src := "\n" + interpDirective(d.Cell, d.Line) + "\n" + d.Source
			if _, err := yi.EvalWithContext(ctx, src); err != nil {
				return nil, nil, err
			}
			a := i.analyze(cell.Import, d.Source)
			if a != nil {
				for _, s := range importSpecs(a) {
					imports[d.Name] = s[1]
				}
			}
			continue
		}
		id := fmt.Sprintf("%d:%d:%s", d.Cell, d.Line, d.Source)
		if seen[id] {
			continue
		}
		seen[id] = true
		src := d.Source
		if a := i.analyze(cell.Declaration, src); a != nil {
			a.rewrite(cell.Declaration, d.Cell, d.Line, &i.seq, i.intGlobal, i.intResult)
			src = a.t.printItem(d.Cell, d.Line)
		}
		fmt.Fprintf(&b, "\n%s\n%s\n", interpDirective(d.Cell, d.Line), src)
	}
	if b.Len() > 0 {
		if _, err := yi.EvalWithContext(ctx, b.String()); err != nil {
			return nil, nil, err
		}
	}
	for name, v := range i.vars {
		if _, redefined := l.get(name); redefined || fresh[name] {
			continue
		}
		if err := i.defineVar(yi, name, v); err != nil {
			return nil, nil, err
		}
	}
	return yi, imports, nil
}

// restoreVars gives the variables of the new interpreter the values they
// had in the old one, where their type is plain data and did not change.
func (i *Interp) restoreVars(yi *yaegi.Interpreter, l *declLog, fresh map[string]bool) {
	for _, d := range l.list() {
		if d.Kind != cell.VarDecl || fresh[key(d)] {
			continue
		}
		oldp, err1 := evalQuiet(i.yi, "&"+d.Name)
		newp, err2 := evalQuiet(yi, "&"+d.Name)
		if err1 != nil || err2 != nil || !oldp.IsValid() || !newp.IsValid() ||
			oldp.Kind() != reflect.Pointer || oldp.Type() != newp.Type() || oldp.IsNil() || newp.IsNil() ||
			!plainData(oldp.Type().Elem(), map[reflect.Type]bool{}) {
			continue
		}
		newp.Elem().Set(oldp.Elem())
	}
}

// DeclareVar declares the package-level variable name of the type typ
// (Go source, in the interpreter's terms: its packages by the names cells
// import them under) with its zero value, recording it as a declaration
// of cell count at line, without running any initialiser: the compiler
// ran the cell that declared it, and its value comes back with Value's
// Set. It fails when the interpreter cannot represent the type.
func (i *Interp) DeclareVar(ctx context.Context, name, typ string, count, line int) error {
	item := cell.Item{Kind: cell.Declaration, Source: "var " + name + " " + typ, Line: line,
		Decls: []cell.Decl{{Kind: cell.VarDecl, Name: name, Source: "var " + name + " " + typ, Line: line}}}
	_, _, err := i.Eval(ctx, item, count, nil)
	return err
}

// Value returns the current value of the package-level variable name, as
// yaegi holds it (addressable; unexported struct fields carry yaegi's X
// prefix), and whether there is such a variable.
func (i *Interp) Value(name string) (reflect.Value, bool) {
	if i.yi == nil || !token.IsIdentifier(name) {
		return reflect.Value{}, false
	}
	if p, ok := i.ptrs[name]; ok {
		return p.Elem(), true
	}
	p, err := evalQuiet(i.yi, "&"+name)
	if err != nil || !p.IsValid() || p.Kind() != reflect.Pointer || p.IsNil() {
		return reflect.Value{}, false
	}
	if i.ptrs == nil {
		i.ptrs = map[string]reflect.Value{}
	}
	i.ptrs[name] = p
	return p.Elem(), true
}

// evalQuiet evaluates src, turning a panic of yaegi into an error.
func evalQuiet(yi *yaegi.Interpreter, src string) (v reflect.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return yi.Eval(src)
}

// plainData reports whether values of t hold only data (no funcs,
// channels, interfaces or unsafe pointers), so that a value made by one
// interpreter means the same in another.
func plainData(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer, reflect.Uintptr:
		return false
	case reflect.Array, reflect.Slice, reflect.Pointer:
		return plainData(t.Elem(), seen)
	case reflect.Map:
		return plainData(t.Key(), seen) && plainData(t.Elem(), seen)
	case reflect.Struct:
		for k := 0; k < t.NumField(); k++ {
			if !plainData(t.Field(k).Type, seen) {
				return false
			}
		}
	}
	return true
}

func firstLine(s string) string {
	if j := strings.IndexByte(s, '\n'); j >= 0 {
		return s[:j]
	}
	return s
}

// Matches a yaegi position without a file name ("_.go:1:28: " or "1:28: ").
var barePos = regexp.MustCompile(`^(?:_\.go:)?\d+:\d+: `)

// cfgPanic matches the internal panics of yaegi's compiler.
var cfgPanic = regexp.MustCompile(`CFG (?:pre|post)-order panic`)

// toError turns an evaluation error into the cell's error.
func (i *Interp) toError(ctx context.Context, err error, count, line int) *protocol.Error {
	var ke *protocol.Error
	if errors.As(err, &ke) {
		return ke
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		ke := protocol.NewError(protocol.Interrupted, InterruptedValue)
		if i.stoppedAll {
			ke.Traceback = append(ke.Traceback, stoppedAllNote)
		}
		return ke
	}
	trace := i.cur.takeTrace()
	var p yaegi.Panic
	if errors.As(err, &p) {
		var ex exitError
		if e, ok := p.Value.(error); ok && errors.As(e, &ex) {
			i.deferMu.Lock()
			i.exited = true // os.Exit does not run deferred calls
			i.deferMu.Unlock()
			return protocol.NewError(protocol.Exit, ex.Error())
		}
		msg := goMessage(cellPos(fmt.Sprint(p.Value)))
		if cfgPanic.MatchString(msg) {
			return compileError(msg, count, line)
		}
		tb := append([]string{"panic: " + msg}, formatTrace(trace)...)
		return protocol.NewError(protocol.Panic, firstLine(msg), tb...)
	}
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		ke := compileError(list[0].Error(), count, line)
		ke.Traceback = nil
		for _, e := range list {
			ke.Traceback = append(ke.Traceback, "CompileError: "+fixPos(e.Error(), count, line))
		}
		return ke
	}
	return compileError(err.Error(), count, line)
}

// InterruptedValue is the evalue of an interrupted cell: what it defined
// before the interrupt stays.
const InterruptedValue = "the cell was interrupted (everything defined before it is kept)"

// stdinNotAllowedValue is the evalue of a cell that read standard input
// while the client does not accept input.
const stdinNotAllowedValue = "the cell read standard input, but this client does not accept input (allow_stdin is false)"

// stdinNotAllowed is the error of a cell that read standard input while
// the client does not accept input (nbconvert, perfnb run): the read
// itself returned protocol.ErrStdinNotAllowed to the code, and the cell
// fails even if the code ignored that error, as it does in IPython.
func stdinNotAllowed() *protocol.Error {
	return protocol.NewError(protocol.StdinNotAllowed, stdinNotAllowedValue)
}

// reflectMessages translates the panics of package reflect that yaegi lets
// through for ordinary run-time errors into the messages Go prints for
// them. The index and the length are not known here, so "index out of
// range" has no "[5] with length 0".
var reflectMessages = []struct {
	re  *regexp.Regexp
	msg string
}{
	{regexp.MustCompile(`^reflect: (?:slice|array|string) index out of range$`), "runtime error: index out of range"},
	{regexp.MustCompile(`^reflect\.Value\.Slice3?: (?:string )?slice index out of bounds$`), "runtime error: slice bounds out of range"},
	{regexp.MustCompile(`^reflect: call of reflect\.Value\.\w+ on zero Value$`), "runtime error: invalid memory address or nil pointer dereference"},
	{regexp.MustCompile(`^reflect: indirection through nil pointer to embedded struct$`), "runtime error: invalid memory address or nil pointer dereference"},
	{regexp.MustCompile(`^reflect\.Value\.Call: call of nil function$`), "runtime error: invalid memory address or nil pointer dereference (call of a nil func)"},
	{regexp.MustCompile(`^reflect\.MakeSlice: (?:negative len|len too large)$`), "runtime error: makeslice: len out of range"},
	{regexp.MustCompile(`^reflect\.MakeSlice: (?:negative cap|len > cap|cap too large)$`), "runtime error: makeslice: cap out of range"},
}

// goMessage returns msg, a panic's message, in Go's words when it is one of
// reflect's (see reflectMessages).
func goMessage(msg string) string {
	for _, m := range reflectMessages {
		if m.re.MatchString(msg) {
			return m.msg
		}
	}
	return msg
}

// noSource matches yaegi's error for an import of a package it does not
// have, which speaks of GOPATH and of its own options.
var noSource = regexp.MustCompile(`import ("[^"]*") error: unable to find source related to: "[^"]*"\. Either the GOPATH environment variable, or the Interpreter\.Options\.GoPath needs to be set`)

func compileError(msg string, count, line int) *protocol.Error {
	msg = noSource.ReplaceAllString(msg, "cannot import $1: interpreted cells can import only the standard library")
	msg = fixPos(msg, count, line)
	var tb []string
	for _, l := range strings.Split(msg, "\n") {
		tb = append(tb, "CompileError: "+l)
	}
	return protocol.NewError(protocol.CompileError, firstLine(msg), tb...)
}

// interpDirective is the //line directive of code of cell count at line:
// the interpreter names cell code cell.InterpFile, whose last element
// yaegi needs to be its default name.
func interpDirective(count, line int) string {
	return fmt.Sprintf("//line %s:%d:1", cell.InterpFile(count), line)
}

// cellPos rewrites the file names of positions in msg as In[N].
func cellPos(msg string) string { return cell.NormalizePositions(msg) }

// fixPos gives a cell position to a message whose position is yaegi's.
func fixPos(msg string, count, line int) string {
	msg = cellPos(msg)
	if _, _, ok := cell.CutPos(msg); ok {
		return msg
	}
	if loc := barePos.FindStringIndex(msg); loc != nil {
		msg = msg[loc[1]:]
	}
	return fmt.Sprintf("%s: %s", cell.Pos{Cell: count, Line: line, Col: 1}, msg)
}

// fixCellFrame corrects the cell's own frame in the traceback of ke, the
// error of an item of cell count spanning lines first to last: for
// run-time errors raised inside yaegi's operations (an index out of
// range, a nil pointer), yaegi v0.16 reports the position of an unrelated
// node, sometimes in another item; such a position is replaced by the
// item's first line.
func fixCellFrame(ke *protocol.Error, count, first, last int) {
	if ke == nil || len(ke.Traceback) == 0 {
		return
	}
	k := len(ke.Traceback) - 1
	p, fn, ok := cell.ParseFrame(ke.Traceback[k])
	if !ok || fn != "cell" {
		return
	}
	if p.Cell != count || p.Line < first || p.Line > last {
		ke.Traceback[k] = cell.Frame(cell.Pos{Cell: count, Line: first}, "cell")
	}
}

// formatTrace turns yaegi's panic trace lines into traceback lines.
func formatTrace(lines []string) []string {
	var out []string
	for _, l := range lines {
		pos, fn, ok := strings.Cut(cellPos(l), ": panic: ")
		if !ok {
			out = append(out, l)
			continue
		}
		fn = strings.TrimSuffix(fn, "(...)")
		if fn == "main" {
			fn = "cell"
		} else {
			fn = strings.TrimPrefix(fn, "main.")
		}
		if p, ok := cell.FindPos(pos); ok {
			out = append(out, cell.Frame(p, fn))
			continue
		}
		out = append(out, fmt.Sprintf("    at %s (%s)", pos, fn))
	}
	return out
}
