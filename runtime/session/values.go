package session

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/check"
	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// MaxSavedValues is the most bytes of variables' values that SaveValues
// keeps: enough for the fixtures of most notebooks, little enough to
// encode after every cell (a few milliseconds at most).
const MaxSavedValues = 4 << 20

// slowValue is the longest a variable's value may take to save: one that
// takes longer (a map of a few hundred thousand entries, which the
// encoding walks entry by entry) is left out of later saves, so that it
// does not slow every cell, until it is declared again.
const slowValue = 10 * time.Millisecond

// slowValues is the longest SaveValues spends in all; the variables after
// that point are left out of that save.
const slowValues = 3 * slowValue

// maxEntries is the most map entries and elements of slices of non-flat
// values (strings, structs with strings) a value may hold to be saved:
// more would take longer than slowValue to encode, which the check of
// its size learns before the work, not after.
const maxEntries = 100_000

// savedVar is what the last SaveValues knew of a variable.
type savedVar struct {
	decl   cell.Decl // the declaration in force then
	sv     harness.SavedVar
	skip   string // why it was left out, or ""
	linked bool   // its encoding depends on the other linked ones' (see linked)
	// retry says that it was left out for want of room or time, which
	// the next save may have.
	retry bool
	gen   uint64 // the save that last saw it
	index int    // its place in Session.order
	dirty bool   // in Session.changed (set while a save runs)
}

// slot is a variable in force at a save, with what the last save knew
// of it.
type slot struct {
	decl *cell.Decl
	prev *savedVar // nil for a variable the last save did not see
	same bool      // its value cannot have changed since the last save
}

// SaveValues encodes the current values of the variables in force, in the
// state encoding the magics' children use (runtime/harness), so that the
// kernel process can give them to a fresh interpreter if this one dies.
// It returns them in store order, and the variables it could not keep
// with why (a channel, a func, one that would pass MaxSavedValues). Not
// safe to call while a cell runs.
//
// Only the variables that the cells run since the last save may have
// changed (check.Program.MayChange) are read and encoded again; the
// others keep their last encoding, and when none may have changed the
// last save is returned as it was (the same slices). The variables
// whose encodings may point into each other's (those that hold pointers or interfaces, or
// whose address was taken) are written by one encoder, in store order,
// so that pointers shared between them stay shared: when one of them
// changes, they are all encoded again. Every limit is checked before the
// work it limits: a value whose size alone passes MaxSavedValues, or
// that holds more than maxEntries entries, is not encoded.
//
// While goroutines that cells started run, the values may change under
// the encoder (a map read while a goroutine writes it ends the process),
// so SaveValues returns what it saved last, unchanged.
func (s *Session) SaveValues() (saved []harness.SavedVar, skipped []string) {
	vr, ok := s.eval.(valueReader)
	if !ok {
		return nil, nil
	}
	s.mu.Lock()
	version := s.store.Version()
	same := s.saved != nil && !s.changed.All && len(s.changed.Vars) == 0 && version == s.savedVersion && !s.retrySave
	s.mu.Unlock()
	if same || s.goroutinesRun() {
		return s.lastSaved, s.lastSkipped
	}
	s.mu.Lock()
	decls := s.store.Decls()
	s.mu.Unlock()
	if s.saved == nil {
		s.saved = map[string]*savedVar{}
	}
	slots := s.slots(decls)
	sv := s.saveAll(vr, slots, false)
	if sv.restart {
		sv = s.saveAll(vr, slots, true)
	}
	s.order = sv.entries
	for i, v := range s.order {
		v.index = i
	}
	if len(s.saved) > len(s.order) {
		for n, v := range s.saved {
			if v.gen != sv.gen {
				delete(s.saved, n) // no longer declared
			}
		}
	}
	s.changed, s.linkedOrder, s.savedVersion, s.retrySave = check.Changes{}, sv.linkedOrder, version, sv.retry
	s.lastSaved, s.lastSkipped = sv.saved, sv.skipped
	return sv.saved, sv.skipped
}

// slots lists the variables of decls with what the last save knew of
// them, finding each by its place in the last save's order (the store
// keeps its order), by name when that fails.
func (s *Session) slots(decls []cell.Decl) []slot {
	for n := range s.changed.Vars {
		if v := s.saved[n]; v != nil {
			v.dirty = true
		}
	}
	out := make([]slot, 0, len(s.order)+1)
	j := 0
	for k := range decls {
		d := &decls[k]
		if d.Kind != cell.VarDecl || d.Name == "_" {
			continue // a var's Name is an identifier
		}
		var prev *savedVar
		if j < len(s.order) && s.order[j].decl.Name == d.Name {
			prev = s.order[j]
		} else if prev = s.saved[d.Name]; prev != nil {
			j = prev.index
		}
		if prev != nil {
			j++
		}
		same := prev != nil && prev.decl == *d && !prev.dirty && !s.changed.All
		out = append(out, slot{decl: d, prev: prev, same: same})
	}
	for n := range s.changed.Vars {
		if v := s.saved[n]; v != nil {
			v.dirty = false
		}
	}
	return out
}

// saveAll is one pass of SaveValues over the variables; relink forces
// the linked variables to be encoded again.
func (s *Session) saveAll(vr valueReader, slots []slot, relink bool) *saver {
	s.saveGen++
	sv := &saver{s: s, vr: vr, gen: s.saveGen, remaining: MaxSavedValues, begin: time.Now(), relink: relink,
		saved: make([]harness.SavedVar, 0, len(s.lastSaved)+1), entries: make([]*savedVar, 0, len(slots))}
	if !relink {
		sv.plan(slots)
	}
	for _, sl := range slots {
		if sv.restart {
			break
		}
		sv.save(sl)
	}
	return sv
}

// saver is one pass of SaveValues.
type saver struct {
	s         *Session
	vr        valueReader
	gen       uint64
	remaining int // bytes MaxSavedValues leaves
	begin     time.Time
	saved     []harness.SavedVar
	skipped   []string
	retry     bool // a variable was left out for want of room or time
	// relink says that the linked variables are encoded again, by enc;
	// restart, that one of them could not keep its encoding, so that all
	// must be.
	relink      bool
	restart     bool
	enc         *harness.Encoder
	used        int64    // bytes enc wrote
	linkedOrder []string // the linked variables saved, in order
	values      map[string]reflect.Value
	entries     []*savedVar // the variables saved or left out, in order
}

// plan decides whether the linked variables must be encoded again: when
// one of them may have changed, or they are not the ones of the last
// save (a pointer's number in an encoding depends on the linked
// variables before it).
func (sv *saver) plan(slots []slot) {
	var kept []string
	for _, sl := range slots {
		if !sl.same {
			if v, ok := sv.value(sl.decl.Name); ok && sv.linked(sl.decl.Name, v.Type()) {
				sv.relink = true
			}
			continue
		}
		if sl.prev.linked && sl.prev.skip == "" {
			kept = append(kept, sl.decl.Name)
		}
	}
	sv.relink = sv.relink || !slices.Equal(kept, sv.s.linkedOrder)
}

// value reads a variable, once per save.
func (sv *saver) value(name string) (reflect.Value, bool) {
	if v, ok := sv.values[name]; ok {
		return v, v.IsValid()
	}
	v, ok := sv.vr.Value(name)
	if !ok {
		v = reflect.Value{}
	}
	if sv.values == nil {
		sv.values = map[string]reflect.Value{}
	}
	sv.values[name] = v
	return v, ok
}

// linked reports whether a variable's encoding may share pointers with
// another's: it holds pointers or interfaces, or its address was taken.
func (sv *saver) linked(name string, t reflect.Type) bool {
	if sv.s.checker != nil {
		sv.s.checkMu.Lock()
		taken := sv.s.checker.AddressTaken(name)
		sv.s.checkMu.Unlock()
		if taken {
			return true
		}
	}
	return holdsPointers(t, map[reflect.Type]bool{})
}

// holdsPointers reports whether values of t hold pointers or interfaces.
func holdsPointers(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.UnsafePointer:
		return true
	case reflect.Array, reflect.Slice, reflect.Chan:
		return holdsPointers(t.Elem(), seen)
	case reflect.Map:
		return holdsPointers(t.Key(), seen) || holdsPointers(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsPointers(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// save keeps a variable: its last encoding when its value cannot have
// changed, a new one otherwise.
func (sv *saver) save(sl slot) {
	prev := sl.prev
	if sl.same && !(prev.linked && sv.relink) && !prev.retry {
		if prev.skip != "" {
			sv.skip(prev, prev.skip)
			return
		}
		if len(prev.sv.Data) <= sv.remaining {
			sv.keep(prev)
			return
		}
		if prev.linked {
			sv.restart = true // the linked variables after it were numbered with it
			return
		}
	}
	sv.encode(sl)
}

// keep adds a variable's encoding to the save.
func (sv *saver) keep(v *savedVar) {
	v.skip, v.retry, v.gen = "", false, sv.gen
	sv.entries = append(sv.entries, v)
	sv.remaining -= len(v.sv.Data)
	sv.saved = append(sv.saved, v.sv)
	if v.linked {
		sv.linkedOrder = append(sv.linkedOrder, v.sv.Name)
	}
}

// skip leaves a variable out of the save, with why.
func (sv *saver) skip(v *savedVar, why string) {
	v.skip, v.gen = why, sv.gen
	sv.entries = append(sv.entries, v)
	sv.retry = sv.retry || v.retry
	sv.skipped = append(sv.skipped, v.decl.Name+": "+why)
}

// encode reads and encodes d's variable, each limit checked before the
// work it limits.
func (sv *saver) encode(sl slot) {
	s, d, v := sv.s, *sl.decl, sl.prev
	if v == nil {
		v = &savedVar{}
		s.saved[d.Name] = v
	}
	last := v.sv
	*v = savedVar{decl: d, gen: sv.gen}
	if time.Since(sv.begin) > slowValues {
		v.retry = true
		sv.skip(v, fmt.Sprintf("the values before it took %v to save", slowValues))
		return
	}
	if was, ok := s.slowValues[d.Name]; ok && was == d {
		sv.skip(v, fmt.Sprintf("its value takes more than %v to save, too long to save after every cell", slowValue))
		return
	}
	val, ok := sv.value(d.Name)
	if !ok {
		v.retry = true
		return
	}
	v.linked = sv.linked(d.Name, val.Type())
	if sv.tooBig(v, val) {
		return
	}
	enc := sv.encoder(v.linked)
	enc.Limit = int64(sv.remaining)
	if v.linked {
		enc.Limit += sv.used
	}
	start := time.Now()
	parts, digest, err := enc.Encode(val)
	if time.Since(start) > slowValue {
		s.noteSlow(d)
	}
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	if errors.Is(err, harness.ErrOverLimit) || err == nil && size > sv.remaining {
		v.retry = true
		err = errors.New(overLimit)
	}
	if err != nil {
		sv.skip(v, err.Error())
		return
	}
	if v.linked {
		sv.used += int64(size)
	}
	// A copy, since the parts may share the memory of the variable,
	// which later cells change; the last one when it has not.
	v.sv = last
	if last.Name != d.Name || last.Digest != digest {
		v.sv = harness.SavedVar{Name: d.Name, Digest: digest, Data: slices.Concat(parts...)}
	}
	sv.keep(v)
}

// overLimit says why a variable that does not fit is left out.
var overLimit = fmt.Sprintf("with it the values kept would pass %s", sysmem.FormatBytes(MaxSavedValues))

// tooBig leaves v out, before any encoding, when a lower bound of its
// value's size passes the room left or it holds more than maxEntries
// entries.
func (sv *saver) tooBig(v *savedVar, val reflect.Value) bool {
	size, entries := estimate(val, sv.remaining)
	switch {
	case entries > maxEntries:
		sv.s.noteSlow(v.decl)
		sv.skip(v, fmt.Sprintf("its value holds more than %d entries, too many to save after every cell", maxEntries))
		return true
	case size > sv.remaining:
		v.retry = true
		sv.skip(v, overLimit)
		return true
	}
	return false
}

// encoder returns the encoder of the linked variables, or a new one for
// a variable whose encoding stands alone.
func (sv *saver) encoder(linked bool) *harness.Encoder {
	if !linked {
		return harness.NewEncoder()
	}
	if sv.enc == nil {
		sv.enc = harness.NewEncoder()
	}
	return sv.enc
}

// noteSlow leaves d's variable out of later saves until it is declared
// again.
func (s *Session) noteSlow(d cell.Decl) {
	if s.slowValues == nil {
		s.slowValues = map[string]cell.Decl{}
	}
	s.slowValues[d.Name] = d
}

// estimate returns, cheaply, a lower bound of the bytes v's encoding
// takes and of the entries it holds (map entries, elements of slices of
// non-flat values), giving up once either passes its limit (limit bytes,
// maxEntries entries).
func estimate(v reflect.Value, limit int) (size, entries int) {
	e := &estimator{limit: limit}
	e.value(v, 0)
	return e.size, e.entries
}

type estimator struct {
	limit         int
	size, entries int
}

func (e *estimator) done() bool { return e.size > e.limit || e.entries > maxEntries }

// maxDepth is how deep the estimate looks into a value.
const maxDepth = 4

func (e *estimator) value(v reflect.Value, depth int) {
	t := v.Type()
	if flat(t) {
		e.size += int(t.Size())
		return
	}
	e.size++ // every other encoding takes a byte at least
	if depth >= maxDepth || e.done() {
		return
	}
	switch t.Kind() {
	case reflect.String:
		e.size += v.Len()
	case reflect.Slice, reflect.Array:
		n := v.Len()
		if flat(t.Elem()) {
			e.size += n * int(t.Elem().Size())
			return
		}
		e.entries += n
		for i := 0; i < n && !e.done(); i++ {
			e.value(v.Index(i), depth+1)
		}
	case reflect.Map:
		n := v.Len()
		e.entries += n
		e.size += n * (minSize(t.Key()) + minSize(t.Elem()))
	case reflect.Struct:
		for i := range v.NumField() {
			e.value(v.Field(i), depth+1)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			e.value(v.Elem(), depth+1)
		}
	}
}

// minSize is the fewest bytes a value of type t encodes to.
func minSize(t reflect.Type) int {
	if flat(t) {
		return int(t.Size())
	}
	return 1
}

// flat reports whether values of t are plain memory (numbers, bools, and
// arrays and structs of them), which the encoding copies as they are.
func flat(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return flat(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !flat(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// commit ends a cell for the checker, telling it what the cell left in
// the store, and notes what the cell's items may have changed.
func (s *Session) commit(items []cell.Item, decls []cell.Decl) {
	progs := s.progs
	s.progs = nil
	if s.checker == nil {
		s.allMayHaveChanged()
		return
	}
	s.checkMu.Lock()
	s.checker.Commit(s.store, decls)
	var changes []check.Changes
	for _, p := range progs {
		changes = append(changes, p.MayChange())
	}
	s.checkMu.Unlock()
	if len(progs) == 0 && hasGo(items) {
		s.allMayHaveChanged() // ran unchecked
	}
	for _, ch := range changes {
		if ch.All {
			s.allMayHaveChanged()
		}
		for n := range ch.Vars {
			s.mayHaveChanged(n)
		}
	}
	for _, d := range decls {
		switch d.Kind {
		case cell.VarDecl:
			s.mayHaveChanged(d.Name)
		case cell.TypeDecl, cell.MethodDecl, cell.ImportDecl:
			// The interpreter may have replaced itself (a type declared
			// again), declaring again from their initialisers the
			// variables whose values it could not carry.
			s.allMayHaveChanged()
		}
	}
}

// goroutineCounter is implemented by an evaluator that counts the
// goroutines cells started that still run (*interp.Interp).
type goroutineCounter interface {
	Goroutines() int64
}

// goroutinesRun reports whether goroutines that cells started run, which
// may change the variables' values under a reader of them.
func (s *Session) goroutinesRun() bool {
	gc, ok := s.eval.(goroutineCounter)
	return ok && gc.Goroutines() > 0
}

// RestoreValues gives the variables of this session the values saved, in
// order, by another session's SaveValues (after Restore has declared
// them). Each is decoded into a value of the variable's type here and
// checked against its digest before it replaces the initialiser's value.
// It returns the variables restored and, for the others, why not.
func (s *Session) RestoreValues(saved []harness.SavedVar) (restored, failed []string) {
	vr, ok := s.eval.(valueReader)
	if !ok {
		return nil, nil
	}
	s.allMayHaveChanged()
	dec := harness.NewDecoder()
	for _, sv := range saved {
		v, ok := vr.Value(sv.Name)
		if !ok {
			failed = append(failed, sv.Name+": not declared again")
			continue
		}
		nv, err := dec.Decode(sv.Data, v.Type(), sv.Digest)
		if err == nil && !v.CanSet() {
			err = fmt.Errorf("the interpreter's variable cannot be set")
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", sv.Name, err))
			continue
		}
		v.Set(nv)
		restored = append(restored, sv.Name)
	}
	return restored, failed
}
