package session

// Compiled cells: the compiler is the reference, the interpreter the fast
// path. A cell's Go items run in the interpreter when it runs them
// faithfully; otherwise (a construct yaegi lacks, a declaration only the
// compiler holds, a failure of yaegi on Go the checker accepted, %%go, or
// %engine compiled) they are built with the notebook's declarations into
// a program of their own (runtime/native's CellProgram) and run once,
// starting from the notebook's values; the values the cell changed come
// back into the interpreter, and its declarations enter it where the
// interpreter can hold them. What it cannot hold stays with the compiler:
// a declaration (the store keeps it, with cell.Decl.Native saying why) or
// a variable's value (kept encoded, in nativeValues), and cells that use
// them run compiled.

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/check"
	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/interp"
	"github.com/perfnb/perfnb/runtime/native"
)

// Engine says which engine runs the notebook's cells.
type Engine int

// The engines a notebook can ask for with %engine.
const (
	// Auto runs a cell in the interpreter when it runs it faithfully, and
	// compiled otherwise.
	Auto Engine = iota
	// Compiled runs every cell compiled.
	Compiled
)

// String returns the engine's name, as %engine takes it.
func (e Engine) String() string {
	if e == Compiled {
		return "compiled"
	}
	return "auto"
}

// SetEngine makes later cells run with engine e.
func (s *Session) SetEngine(e Engine) { s.engine = e }

// setEngine is the magics' Env.Engine.
func (s *Session) setEngine(mode string) (string, error) {
	switch mode {
	case "compiled":
		s.engine = Compiled
	case "auto":
		s.engine = Auto
	}
	return s.engine.String(), nil
}

// nativeValue is the value of a variable that the interpreter cannot hold,
// in the state encoding.
type nativeValue struct {
	data   []byte
	digest string
}

// packageKeeper is implemented by an evaluator that loads the packages of
// the notebook's modules (*interp.Interp): those it cannot load, and those
// whose source changed since it loaded them, are for the compiler.
type packageKeeper interface {
	NativeOnly(path string) (why string, ok bool)
	Edited(path string) bool
}

// varDeclarer is implemented by an evaluator that can declare a variable
// without running an initialiser (*interp.Interp).
type varDeclarer interface {
	DeclareVar(ctx context.Context, name, typ string, count, line int) error
}

// compiledWhy says why items, the Go items of a segment of cell count,
// must run compiled, or "" when the interpreter runs them.
func (s *Session) compiledWhy(prog *check.Program, items []cell.Item, count int) string {
	switch {
	case s.forceCompiled != "":
		return s.forceCompiled
	case s.engine == Compiled:
		if name, _ := s.magicVarUsed(prog, items); name != "" {
			return "" // the interpreter holds its value; see execute
		}
		return "the notebook runs every cell compiled (%engine compiled)"
	case prog == nil:
		return ""
	}
	if u := prog.Unsupported(items, count, interp.Capabilities{}); len(u) > 0 {
		why := u[0].Msg
		if len(u) > 1 {
			why += fmt.Sprintf(" (and %d more)", len(u)-1)
		}
		return why
	}
	for _, name := range prog.Uses(items) {
		if reason := s.native(name); reason != "" {
			return fmt.Sprintf("uses %s, which only the compiler holds (%s)", name, reason)
		}
	}
	if pk, ok := s.eval.(packageKeeper); ok {
		for _, p := range prog.Packages(items) {
			if why, only := pk.NativeOnly(p); only {
				return fmt.Sprintf("uses %s, which the interpreter cannot load (%s)", p, why)
			}
			if pk.Edited(p) {
				return fmt.Sprintf("uses %s, whose source changed since the interpreter loaded it (it keeps the old code until the kernel restarts)", p)
			}
		}
	}
	return ""
}

// magicVarUsed returns the first variable that items use and a magic set
// (%timeit -v NAME), with the magic, or "" when they use none: a later
// declaration of the name in a cell replaces the magic's variable.
func (s *Session) magicVarUsed(prog *check.Program, items []cell.Item) (name, by string) {
	if prog == nil {
		return "", ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.magicVars) == 0 {
		return "", ""
	}
	for _, n := range prog.Uses(items) {
		if by, ok := s.magicVars[n]; ok {
			if _, declared := s.store.Lookup(n); !declared {
				return n, by
			}
		}
	}
	return "", ""
}

// native says why only the compiler holds the declaration of name, or ""
// (the interpreter holds it, or there is none).
func (s *Session) native(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := len(s.running) - 1; k >= 0; k-- {
		if d := s.running[k]; d.Name == name && d.Kind != cell.ImportDecl {
			return d.Native
		}
	}
	d, _ := s.store.Lookup(name)
	return d.Native
}

// hasStatements reports whether items hold statements or an expression,
// which a compiled program runs (declarations alone are not built).
func hasStatements(items []cell.Item) bool {
	for _, it := range items {
		if it.Kind == cell.Statement || it.Kind == cell.Expression {
			return true
		}
	}
	return false
}

// runCompiled runs items (the Go items of cell count from the cell's item
// first on, to the next magic) compiled, for the reason why. It returns
// how many of them ran (whose declarations the cell keeps), the
// declarations of those that only the compiler holds, with why, and the
// cell's error. The trailing expression's value goes into res.
func (s *Session) runCompiled(ctx context.Context, items []cell.Item, first int, prog *check.Program, count int, why string, last bool, res *protocol.ExecuteResult, pub protocol.Publisher) (int, map[string]string, *protocol.Error) {
	pub.Stream("stderr", "compiled: "+why+"\n")
	only := map[string]string{}
	if !hasStatements(items) {
		s.declareCompiled(ctx, items, prog, count, only)
		return len(items), only, nil
	}
	if name, by := s.magicVarUsed(prog, items); name != "" {
		return 0, nil, protocol.NewError(protocol.CompileError, fmt.Sprintf(
			"the cell must run compiled (%s), but it uses %s, which %s set to a value of perfnb's own type: only interpreted cells can use it (copy what this cell needs into a variable of its own in an interpreted cell first)", why, name, by))
	}
	ws, err := s.Workspace()
	if err != nil {
		return 0, nil, protocol.NewError(protocol.Generic, fmt.Sprintf("the cell must run compiled (%s), but %v", why, err))
	}
	cp := native.CellProgram{Decls: s.decls(), Count: count, Items: items, First: first}
	if last {
		cp.Show = prog.Shown(items[len(items)-1])
	}
	bin, err := ws.BuildCell(ctx, cp)
	if err != nil {
		return 0, nil, compiledError(ctx, err)
	}
	out := cellStreams{pub}
	result, runErr := ws.RunCell(ctx, bin, native.CellRunOptions{
		Stdout: out.writer("stdout"), Stderr: out.writer("stderr"),
		Display: func(m harness.DisplayMessage) { relayDisplay(pub, m, res) },
		Input:   func(ctx context.Context) (string, error) { return pub.Input(ctx, "", false) },
		Stopping: func() {
			if sp, ok := pub.(stoppingPublisher); ok {
				sp.Stopping()
			}
		},
	})
	if result == nil {
		return 0, nil, compiledError(ctx, runErr)
	}
	defer os.RemoveAll(result.Dir)
	ran := len(items)
	if runErr != nil {
		ran = max(result.Report.Reached-first, 0) // the item that failed did not run
	}
	// What ran is declared even when an interrupt ended the cell: the
	// interrupt was the cell's, not the declarations'.
	s.declareCompiled(context.WithoutCancel(ctx), items[:ran], prog, count, only)
	if err := s.valuesBack(result, only); err != nil {
		pub.Stream("stderr", "note: "+err.Error()+"\n")
	}
	if note := lostValues(result.Report.Failed); note != "" {
		pub.Stream("stderr", note)
	}
	switch {
	case runErr != nil:
		return ran, only, compiledError(ctx, runErr)
	case result.InputRefused:
		return ran, only, protocol.NewError(protocol.StdinNotAllowed, "the cell read standard input, but this client does not accept input (allow_stdin is false)")
	}
	return ran, only, nil
}

// stoppingPublisher is implemented by a Publisher that can tell the kernel
// process that an interrupted cell has stopped and is handing back its
// values (the worker's relay, in runtime/worker), so that it waits for
// them.
type stoppingPublisher interface {
	Stopping()
}

// lostValues words, for the cell's stderr, the variables whose values a
// compiled cell could not give back (failed: name to why), or "".
func lostValues(failed map[string]string) string {
	if len(failed) == 0 {
		return ""
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(failed)) {
		fmt.Fprintf(&b, "note: %s: its value cannot leave the compiled cell (%s); later cells see its zero value\n", name, failed[name])
	}
	return b.String()
}

// compiledError words the failure of a compiled cell as the interpreter
// words its own: a panic with its value and the cell frames of its trace
// ("at In[3]:2 (cell)"), os.Exit as a stop of the cell. The other
// failures are the native engine's (magics.NativeError).
func compiledError(ctx context.Context, err error) *protocol.Error {
	var ne *native.Error
	if errors.As(err, &ne) && ctx.Err() == nil {
		switch ne.Kind {
		case native.Panicked:
			msg := strings.TrimPrefix(ne.Summary, "the cell panicked: ")
			tb := []string{"panic: " + msg}
			for _, f := range ne.Lines {
				tb = append(tb, interpFrame(f))
			}
			return protocol.NewError(protocol.Panic, msg, tb...)
		case native.Exited:
			if code, ok := exitCode(ne); ok {
				return protocol.NewError(protocol.Exit, fmt.Sprintf(
					"os.Exit(%d) called (or log.Fatal): the cell stopped; the kernel keeps running, and the variables keep the values they had before the cell", code))
			}
		}
	}
	return magics.NativeError(ctx, err, magics.NativeErrorOptions{Magic: "go"})
}

// interpFrame writes a frame of a compiled cell's trace as the
// interpreter writes its own: "In[1]:2 in at" is "    at In[1]:2 (at)".
func interpFrame(f string) string {
	pos, fn, ok := strings.Cut(f, " in ")
	p, isPos := cell.FindPos(pos)
	switch {
	case !isPos || strings.HasPrefix(pos, " "):
		return f // "(the line above 3 more times)"
	case !ok || fn == "perfnbCell":
		fn = "cell"
	}
	return cell.Frame(p, fn)
}

// exitCode is the exit status of a child that exited.
func exitCode(ne *native.Error) (int, bool) {
	var ee *exec.ExitError
	if errors.As(ne.Err, &ee) && ee.ExitCode() > 0 {
		return ee.ExitCode(), true
	}
	return 0, false
}

// decls returns the declarations a compiled cell can use: the store's,
// with those of the running cell's items that have run.
func (s *Session) decls() []cell.Decl {
	return s.Decls()
}

// cellStreams publishes a compiled cell's output as the cell's streams.
type cellStreams struct{ pub protocol.Publisher }

func (c cellStreams) writer(name string) io.Writer {
	return streamWriter{c.pub, name}
}

type streamWriter struct {
	pub  protocol.Publisher
	name string
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.pub.Stream(w.name, string(p))
	return len(p), nil
}

// relayDisplay publishes a compiled cell's display message; the value of
// its trailing expression becomes the cell's result.
func relayDisplay(pub protocol.Publisher, m harness.DisplayMessage, res *protocol.ExecuteResult) {
	switch m.Op {
	case "display":
		pub.Display(protocol.Bundle(m.Data), map[string]any{}, m.ID)
	case "update":
		pub.UpdateDisplay(protocol.Bundle(m.Data), map[string]any{}, m.ID)
	case "clear":
		pub.ClearOutput(m.Wait)
	case "result":
		res.Data = protocol.Bundle(m.Data)
	}
}

// declareCompiled gives the interpreter the declarations of items, which
// ran compiled: its types, funcs, methods and consts as they are (those
// that use what it cannot run, or that it rejects, stay with the
// compiler), and its variables typed, without their initialisers (their
// values come back from the compiled run).
func (s *Session) declareCompiled(ctx context.Context, items []cell.Item, prog *check.Program, count int, only map[string]string) {
	for _, it := range items {
		if it.Syntax == nil {
			continue
		}
		for _, d := range it.Syntax.Decls {
			gd, isVar := d.(*ast.GenDecl)
			if isVar && gd.Tok != token.VAR {
				isVar = false
			}
			if !isVar {
				s.declareOne(ctx, it, d, prog, count, only)
			}
		}
	}
	for _, it := range items {
		for _, d := range it.Decls {
			if d.Kind == cell.VarDecl && d.Name != "_" {
				s.declareVar(ctx, d.Name, prog.VarType(d.Name), count, d.Line, only)
			}
		}
	}
}

// declareOne gives one declaration of item it to the interpreter, or
// marks the names it declares as the compiler's only.
func (s *Session) declareOne(ctx context.Context, it cell.Item, d ast.Decl, prog *check.Program, count int, only map[string]string) {
	sub := subItem(it, d)
	why := ""
	if u := prog.Unsupported([]cell.Item{sub}, count, interp.Capabilities{}); len(u) > 0 {
		why = u[0].Msg
	}
	for _, n := range prog.Uses([]cell.Item{sub}) {
		r, ok := only[n]
		if !ok {
			r = s.native(n)
		}
		if r != "" && why == "" {
			why = fmt.Sprintf("uses %s (%s)", n, r)
		}
	}
	if why == "" && s.eval != nil {
		err := guard(func() error {
			_, _, err := s.eval.Eval(ctx, sub, count, discard{})
			return err
		})
		if err != nil {
			why = "the interpreter rejects it: " + firstLine(err.Error())
		}
	}
	if why != "" {
		for _, dd := range sub.Decls {
			only[dd.Name] = why
		}
	}
}

// subItem is the item of one declaration d of it.
func subItem(it cell.Item, d ast.Decl) cell.Item {
	start, end := it.Syntax.Fset.Position(d.Pos()), it.Syntax.Fset.Position(d.End())
	lines := strings.SplitAfter(it.Source, "\n")
	k0, k1 := start.Line-it.Line, end.Line-it.Line
	if k0 < 0 || k1 >= len(lines) {
		return it
	}
	text := strings.Join(lines[k0:k1+1], "")
	text = text[:len(text)-len(lines[k1])+end.Column-1]
	text = strings.Repeat(" ", start.Column-1) + text[start.Column-1:]
	sub := cell.Item{Kind: cell.Declaration, Source: text, Line: start.Line,
		Syntax: &cell.Syntax{Fset: it.Syntax.Fset, Decls: []ast.Decl{d}}}
	names := map[string]bool{}
	for _, n := range cell.StoreKeys(d) {
		names[n] = true
	}
	for _, dd := range it.Decls {
		if names[dd.Name] {
			sub.Decls = append(sub.Decls, dd)
		}
	}
	return sub
}

// declareVar declares a variable of a compiled cell in the interpreter,
// typed and without its initialiser, or marks it as the compiler's only.
func (s *Session) declareVar(ctx context.Context, name string, t types.Type, count, line int, only map[string]string) {
	dv, ok := s.eval.(varDeclarer)
	why := "the interpreter cannot declare variables"
	if ok && t != nil && strings.Contains(t.String(), "display.Handle") {
		why = "a display handle made by a compiled cell names that cell's output"
	} else if ok && t != nil {
		why = ""
		typ := types.TypeString(t, s.packageName)
		if err := dv.DeclareVar(ctx, name, typ, count, line); err != nil {
			why = fmt.Sprintf("the interpreter cannot hold a %s: %s", typ, firstLine(err.Error()))
		}
	}
	if why == "" {
		delete(s.nativeValues, name)
		return
	}
	only[name] = why
}

// packageName names a package as the interpreter knows it: by the name a
// cell imported it under, or its own name (imported on first use).
func (s *Session) packageName(p *types.Package) string {
	if p.Path() == "main" {
		return ""
	}
	if ai, ok := s.eval.(interface{ AutoImports() map[string]string }); ok {
		for name, path := range ai.AutoImports() {
			if path == p.Path() {
				return name
			}
		}
	}
	return p.Name()
}

// valuesBack gives the interpreter the values that a compiled cell
// changed; those of variables it cannot hold are kept encoded for the
// next compiled cells and magics.
func (s *Session) valuesBack(r *native.CellResult, only map[string]string) error {
	groups, err := r.Values()
	if err != nil {
		return err
	}
	vr, _ := s.eval.(valueReader)
	var errs []error
	for _, g := range groups {
		dec := harness.NewDecoder()
		for _, e := range g {
			s.mayHaveChanged(e.Name)
			if _, held := only[e.Name]; held || vr == nil || s.native(e.Name) != "" {
				s.nativeValues[e.Name] = nativeValue{slices.Clone(e.Data), e.Digest}
				continue
			}
			v, ok := vr.Value(e.Name)
			if !ok {
				continue // declared by the item that failed, which the cell does not keep
			}
			nv, err := dec.Decode(e.Data, v.Type(), e.Digest)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s did not come back from the compiled cell: %w", e.Name, err))
				continue
			}
			v.Set(nv)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return nil
}

// nativeValue returns the encoded value of a variable the interpreter
// does not hold (see native.EncodedSource).
func (s *Session) nativeValueOf(name string) ([]byte, string, bool) {
	v, ok := s.nativeValues[name]
	return v.data, v.digest, ok
}

// firstLine is s up to its first line end.
func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

var _ = reflect.Value{}
