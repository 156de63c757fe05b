package session

import (
	"errors"
	"fmt"
	"go/token"
	"slices"
	"time"

	"github.com/perfnb/perfnb/runtime/cell"
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

// SaveValues encodes the current values of the variables in force, in the
// state encoding the magics' children use (runtime/harness), so that the
// kernel process can give them to a fresh interpreter if this one dies.
// The values are written by one encoder, in store order, so that pointers
// shared between variables stay shared. It returns them, and the variables
// it could not keep with why (a channel, a func, one that would pass
// MaxSavedValues). Not safe to call while a cell runs.
//
// While goroutines that cells started run, the values may change under
// the encoder (a map read while a goroutine writes it ends the process),
// so SaveValues returns what it saved last, unchanged.
func (s *Session) SaveValues() (saved []harness.SavedVar, skipped []string) {
	vr, ok := s.eval.(valueReader)
	if !ok {
		return nil, nil
	}
	if s.goroutinesRun() {
		return s.lastSaved, s.lastSkipped
	}
	last := make(map[string]harness.SavedVar, len(s.lastSaved))
	for _, sv := range s.lastSaved {
		last[sv.Name] = sv
	}
	s.mu.Lock()
	decls := s.store.Decls()
	s.mu.Unlock()
	enc := harness.NewEncoder()
	enc.Limit = MaxSavedValues
	begin := time.Now()
	for _, d := range decls {
		if d.Kind != cell.VarDecl || !token.IsIdentifier(d.Name) || d.Name == "_" {
			continue
		}
		if time.Since(begin) > slowValues {
			skipped = append(skipped, fmt.Sprintf("%s: the values before it took %v to save", d.Name, slowValues))
			continue
		}
		if was, ok := s.slowValues[d.Name]; ok && was == d {
			skipped = append(skipped, fmt.Sprintf("%s: its value takes more than %v to save, too long to save after every cell", d.Name, slowValue))
			continue
		}
		v, ok := vr.Value(d.Name)
		if !ok {
			continue
		}
		// A value that fails is left out whole, and the others still fit.
		start := time.Now()
		parts, digest, err := enc.Encode(v)
		if time.Since(start) > slowValue {
			if s.slowValues == nil {
				s.slowValues = map[string]cell.Decl{}
			}
			s.slowValues[d.Name] = d
		}
		if errors.Is(err, harness.ErrOverLimit) {
			err = fmt.Errorf("with it the values kept would pass %s", sysmem.FormatBytes(MaxSavedValues))
		}
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", d.Name, err))
			continue
		}
		// A copy, since the parts may share the memory of the variable,
		// which later cells change; the last one when it has not.
		sv := last[d.Name]
		if sv.Digest != digest {
			sv = harness.SavedVar{Name: d.Name, Digest: digest, Data: slices.Concat(parts...)}
		}
		saved = append(saved, sv)
	}
	s.lastSaved, s.lastSkipped = saved, skipped
	return saved, skipped
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
