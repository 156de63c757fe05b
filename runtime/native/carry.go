package native

// Carrying the notebook's values into the child (see runtime/harness's
// child_state.go for the encoding). For a build whose workspace has a
// source of values (SetValues), every package-level variable the generated
// program uses takes the value the notebook holds now instead of running
// its initialiser again:
//
//	var perfnbState = harness.LoadState("xs", (*[]int)(nil))
//	//line In[3]:1:1
//	var xs []int = harness.Carried(perfnbState, "xs", func() []int { return make([]int, n) })
//
// The variable's type is the one the session's type checker gave it
// (SetTypes), written as typeSource writes it; the initialiser stays as
// the fallback, run only when the value could not be decoded. A variable
// whose value cannot be carried (a channel, a func, a type the child
// cannot name) keeps its declaration as it is, and the magic's output
// says so.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/types"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/runtime/harness"
)

// maxCarried is the most bytes of values a build carries into its child.
const maxCarried = 2 << 30

// ValueSource returns the current value of a package-level variable of the
// notebook, and whether there is one (the interpreter's Value).
type ValueSource func(name string) (reflect.Value, bool)

// SetValues makes later builds carry the values that src gives into the
// child; nil turns carrying off (variables run their initialisers again).
func (w *Workspace) SetValues(src ValueSource) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.values = src
}

// TypeSource returns the types of the notebook's package-level variables
// names, as the type checker that checked the notebook's cells gave them
// (check.Program.VarType); a variable it leaves out is not carried.
type TypeSource func(ctx context.Context, names []string) (map[string]types.Type, error)

// SetTypes makes later builds type the variables they carry with the
// types src gives; without it nothing is carried.
func (w *Workspace) SetTypes(src TypeSource) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.types = src
}

// ValueVersion returns a key for the value a variable holds now, which
// changes whenever a cell may have changed the value (a redefinition
// included); ok is false when the variable's value must be read again.
// A variable whose key did not change since the workspace encoded it is
// not encoded again.
type ValueVersion func(name string) (key string, ok bool)

// SetVersions makes later builds reuse the encodings of variables whose
// version did not change (see ValueVersion); nil encodes every time.
func (w *Workspace) SetVersions(v ValueVersion) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.versions = v
}

// cachedValue is a variable encoded alone into a state file of the
// workspace, kept for the next builds while its version holds.
type cachedValue struct {
	key, file, digest string
}

// EncodedSource returns the value of a variable that the interpreter does
// not hold, already in the state encoding (a variable a compiled cell
// declared with a type the interpreter cannot represent), with its digest.
type EncodedSource func(name string) (data []byte, digest string, ok bool)

// SetEncoded makes later builds carry the encoded values src gives, for
// the variables it has.
func (w *Workspace) SetEncoded(src EncodedSource) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.encoded = src
}

// carriedState is what a build carried: the state files, the digests the
// child must reproduce, and the notes for the magic's output.
type carriedState struct {
	file    string   // the values encoded together
	alone   []string // state files of variables encoded alone
	digests map[string]string
	notes   []string
}

// usedVars lists the variables of the used var declarations, in order.
func (g *generator) usedVars() []string {
	var names []string
	for _, d := range g.decls {
		if !d.used {
			continue
		}
		for _, sp := range d.specs {
			for _, n := range sp.Names {
				if n.Name != "_" {
					names = append(names, n.Name)
				}
			}
		}
	}
	return names
}

// harnessRef is the name the generated file imports the harness under.
func (g *generator) harnessRef() string {
	if g.cell != nil {
		return harnessName
	}
	return "harness"
}

// emitState declares perfnbState, which decodes the carried variables.
func (g *generator) emitState(w *lineWriter) {
	if len(g.carried) == 0 {
		return
	}
	names := make([]string, 0, len(g.carried))
	for n := range g.carried {
		names = append(names, n)
	}
	sort.Strings(names)
	w.printf("\nvar perfnbState = %s.LoadState(", g.harnessRef())
	for i, n := range names {
		if i > 0 {
			w.printf(", ")
		}
		w.printf("%q, (*%s)(nil)", n, g.carried[n])
	}
	w.printf(")\n")
}

// carriedSource rewrites a var declaration whose variables are all
// carried; ok is false for any other declaration.
func (g *generator) carriedSource(d *declInfo) (src string, ok bool) {
	if len(d.specs) == 0 || len(g.carried) == 0 {
		return "", false
	}
	var b strings.Builder
	for _, sp := range d.specs {
		for _, n := range sp.Names {
			if _, ok := g.carried[n.Name]; !ok && n.Name != "_" {
				return "", false
			}
		}
	}
	text := func(e ast.Expr) string {
		f := d.fset.File(e.Pos())
		return d.parsed[f.Offset(e.Pos()):f.Offset(e.End())]
	}
	for _, sp := range d.specs {
		for i, n := range sp.Names {
			if n.Name == "_" {
				continue
			}
			t := g.carried[n.Name]
			var init string
			switch {
			case len(sp.Values) == len(sp.Names):
				init = fmt.Sprintf("func() %s { return %s }", t, text(sp.Values[i]))
			case len(sp.Values) == 1:
				vars := make([]string, len(sp.Names))
				for j := range vars {
					vars[j] = "perfnbV" + strconv.Itoa(j)
				}
				blanks := strings.TrimSuffix(strings.Repeat("_, ", len(vars)), ", ")
				init = fmt.Sprintf("func() %s { %s := %s; %s = %s; return %s }", t,
					strings.Join(vars, ", "), text(sp.Values[0]), blanks, strings.Join(vars, ", "), vars[i])
			default:
				init = fmt.Sprintf("func() (z %s) { return }", t)
			}
			fmt.Fprintf(&b, "var %s %s = %s.Carried(perfnbState, %q, %s)\n", n.Name, t, g.harnessRef(), n.Name, init)
		}
	}
	return b.String(), true
}

// carry decides which of the program's variables take the notebook's
// values, writes their encodings to the state file and sets g.carried.
// What cannot be carried is in the notes.
func (w *Workspace) carry(ctx context.Context, g *generator, file string) *carriedState {
	names := g.usedVars()
	if w.values == nil || len(names) == 0 {
		return nil
	}
	st := &carriedState{file: file, digests: map[string]string{}}
	fail := func(err error) *carriedState {
		g.carried, g.carriedTypes, st.digests = nil, nil, nil
		st.notes = append(st.notes, fmt.Sprintf("the notebook's values could not be carried into the child (%v); its variables ran their initialisers again", err))
		return st
	}
	if w.types == nil {
		return fail(errors.New("no type checker gave their types"))
	}
	typeOf, err := w.types(ctx, names)
	if err != nil {
		return fail(err)
	}
	vars := w.encodeVars(g, st, names, typeOf)
	g.dropPartial(st)
	if vars, err = w.keepCarried(g, st, vars); err != nil {
		return fail(err)
	}
	f, err := os.Create(st.file)
	if err == nil {
		err = writeState(f, st, vars)
	}
	if err != nil {
		return fail(fmt.Errorf("writing them for the child: %w", err))
	}
	return st
}

// encodedVar is a variable's encoding and its digest.
type encodedVar struct {
	name, digest string
	data         [][]byte // the parts of harness.Encoder.Encode
	// file is, for a variable encoded alone, its state file (a cached
	// value, or one given encoded by EncodedSource).
	file string
}

// encodeVars encodes the variables that have a nameable type and a value
// that can be carried, and records them in g.carried and st.
func (w *Workspace) encodeVars(g *generator, st *carriedState, names []string, typeOf map[string]types.Type) []encodedVar {
	vals := w.rootedValues(names)
	enc := vals.encoder()
	var vars []encodedVar
	g.carried, g.carriedTypes = map[string]string{}, map[string]types.Type{}
	for _, n := range names {
		t, ok := typeOf[n]
		if !ok || !nameable(t) {
			st.notes = append(st.notes, fmt.Sprintf("%s: its type cannot be named in the compiled program; the child ran its initialiser", n))
			continue
		}
		ev, err := w.encodeVar(enc, vals, n)
		if err != nil {
			st.notes = append(st.notes, fmt.Sprintf("%s: %v", n, err))
			continue
		}
		g.carried[n], g.carriedTypes[n] = typeSource(t, map[string]string{}), t
		vars = append(vars, ev)
		st.digests[n] = ev.digest
	}
	return vars
}

// encodeVar encodes the variable n: given encoded (EncodedSource), alone
// (encodeAlone), or with the others by enc.
func (w *Workspace) encodeVar(enc *harness.Encoder, vals rootedValues, n string) (encodedVar, error) {
	if w.encoded != nil {
		if data, digest, ok := w.encoded(n); ok {
			file, err := w.storeAlone(n, "encoded:"+digest, [][]byte{data}, digest)
			if err != nil {
				return encodedVar{}, fmt.Errorf("%w; the child ran its initialiser instead", err)
			}
			return encodedVar{name: n, digest: digest, file: file}, nil
		}
	}
	v, ok := vals[n]
	if !ok {
		return encodedVar{}, errors.New("the interpreter gave no value for it (none, or goroutines that cells started are running and could change it while it was read); the child ran its initialiser")
	}
	if ev, ok, err := w.encodeAlone(n, v); ok {
		if err != nil {
			return encodedVar{}, fmt.Errorf("%w; the child ran its initialiser instead", err)
		}
		return ev, nil
	}
	b, digest, err := enc.Encode(v)
	if err != nil {
		return encodedVar{}, fmt.Errorf("%w; the child ran its initialiser instead", err)
	}
	return encodedVar{name: n, digest: digest, data: b}, nil
}

// rootedValues are the values of the variables to carry, by name.
type rootedValues map[string]reflect.Value

// rootedValues reads the values of the variables names.
func (w *Workspace) rootedValues(names []string) rootedValues {
	vals := rootedValues{}
	for _, n := range names {
		if v, ok := w.values(n); ok {
			vals[n] = v
		}
	}
	return vals
}

// encoder returns an encoder for the variables encoded together, which
// knows every variable carried (see harness.Encoder.Root).
func (vals rootedValues) encoder() *harness.Encoder {
	enc := harness.NewEncoder()
	enc.Limit = maxCarried
	for _, v := range vals {
		enc.Root(v)
	}
	return enc
}

// keepCarried returns the variables still carried. When some were
// dropped, the others are encoded again, since pointers are numbered
// across variables.
func (w *Workspace) keepCarried(g *generator, st *carriedState, vars []encodedVar) ([]encodedVar, error) {
	var keep []encodedVar
	for _, v := range vars {
		if _, ok := g.carried[v.name]; ok {
			keep = append(keep, v)
		}
	}
	if len(keep) == len(vars) {
		return keep, nil
	}
	names := make([]string, len(keep))
	for i, v := range keep {
		names[i] = v.name
	}
	vals := w.rootedValues(names)
	enc := vals.encoder()
	for i := range keep {
		if keep[i].file != "" {
			continue
		}
		v := vals[keep[i].name]
		var err error
		if keep[i].data, keep[i].digest, err = enc.Encode(v); err != nil {
			return nil, err
		}
		st.digests[keep[i].name] = keep[i].digest
	}
	return keep, nil
}

// dropPartial stops carrying the variables of a declaration that also
// declares one that cannot be carried: a declaration is rewritten only
// when all its variables are carried.
func (g *generator) dropPartial(st *carriedState) {
	for _, d := range g.decls {
		if !d.used || len(d.specs) == 0 {
			continue
		}
		if _, ok := g.carriedSource(d); ok {
			continue
		}
		for _, sp := range d.specs {
			for _, n := range sp.Names {
				if _, ok := g.carried[n.Name]; ok {
					delete(g.carried, n.Name)
					delete(st.digests, n.Name)
					st.notes = append(st.notes, fmt.Sprintf("%s: declared with a variable that cannot be carried; the child ran their initialiser", n.Name))
				}
			}
		}
	}
}

// writeState writes the variables encoded together to f, and lists the
// state files of those encoded alone in st.
func writeState(f *os.File, st *carriedState, vars []encodedVar) error {
	var names, digests []string
	var data [][][]byte
	for _, v := range vars {
		if v.file != "" {
			st.alone = append(st.alone, v.file)
			continue
		}
		names, data, digests = append(names, v.name), append(data, v.data), append(digests, v.digest)
	}
	err := harness.WriteState(f, names, data, digests)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// encodeAlone encodes a variable whose value holds no pointers (so that
// it shares nothing with the others) into a state file of its own, or
// reuses the file of its last encoding when its version did not change.
// ok is false for a variable to encode with the others.
func (w *Workspace) encodeAlone(name string, v reflect.Value) (ev encodedVar, ok bool, err error) {
	if w.versions == nil || harness.HoldsPointers(v.Type()) {
		return encodedVar{}, false, nil
	}
	key, ok := w.versions(name)
	if !ok {
		return encodedVar{}, false, nil
	}
	if c, hit := w.cache[name]; hit && c.key == key {
		return encodedVar{name: name, digest: c.digest, file: c.file}, true, nil
	}
	enc := harness.NewEncoder()
	enc.Limit = maxCarried
	parts, digest, err := enc.Encode(v)
	if err != nil {
		return encodedVar{}, true, err
	}
	file, err := w.storeAlone(name, key, parts, digest)
	return encodedVar{name: name, digest: digest, file: file}, true, err
}

// storeAlone writes a variable's encoding to a state file of its own and
// keeps it under key, replacing the variable's previous file.
func (w *Workspace) storeAlone(name, key string, parts [][]byte, digest string) (string, error) {
	if c, hit := w.cache[name]; hit && c.key == key {
		return c.file, nil
	}
	w.seq++
	file := filepath.Join(w.dir, fmt.Sprintf("value-%d.state", w.seq))
	f, err := os.Create(file)
	if err == nil {
		err = harness.WriteState(f, []string{name}, [][][]byte{parts}, []string{digest})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.Remove(file)
		return "", fmt.Errorf("writing it for the child: %w", err)
	}
	if old, hit := w.cache[name]; hit {
		os.Remove(old.file)
	}
	if w.cache == nil {
		w.cache = map[string]cachedValue{}
	}
	w.cache[name] = cachedValue{key: key, file: file, digest: digest}
	return file, nil
}

// stateEnv returns the environment that points the child at the state
// file, and the file it reports to ("" when nothing is carried).
func (b *Binary) stateEnv() (env []string, report string) {
	if b.state == nil || len(b.state.digests) == 0 {
		return nil, ""
	}
	report = fmt.Sprintf("%s.report-%d", b.Path, b.runs.Add(1))
	files := strings.Join(append([]string{b.state.file}, b.state.alone...), string(os.PathListSeparator))
	return []string{harness.StateFileEnv + "=" + files, harness.StateReportEnv + "=" + report}, report
}

// stateNotes returns the notes of a run about the notebook's values: on
// the binary's first run, the build's notes (what could not be carried);
// on every run, the variables whose value did not come across (not
// decoded, or a digest that differs from the kernel's).
func (b *Binary) stateNotes(report string) []string {
	if b.state == nil {
		return nil
	}
	var notes []string
	if !b.noted.Swap(true) {
		notes = append(notes, b.state.notes...)
	}
	if report == "" {
		return notes
	}
	defer os.Remove(report)
	raw, err := os.ReadFile(report)
	var r harness.StateReport
	if err == nil {
		err = json.Unmarshal(raw, &r)
	}
	if err != nil {
		return notes // the child ended before decoding: its error says why
	}
	names := make([]string, 0, len(b.state.digests))
	for n := range b.state.digests {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		switch {
		case r.Failed[n] != "":
			notes = append(notes, fmt.Sprintf("%s: the notebook's value did not come across (%s); the child ran its initialiser", n, r.Failed[n]))
		case r.Digests[n] != b.state.digests[n]:
			notes = append(notes, fmt.Sprintf("%s: the child's value differs from the notebook's (digest %s, the notebook's %s)", n, r.Digests[n], b.state.digests[n]))
		}
	}
	return notes
}
