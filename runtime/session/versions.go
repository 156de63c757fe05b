package session

import (
	"fmt"

	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/check"
)

// Versions of the variables' values. Each variable has a counter that is
// bumped whenever a cell may have changed its value (what the type
// checker's Program.MayChange says, noted when the cell is checked, before
// it runs; what a compiled cell gave back; a redefinition). An encoding
// made while the counter had a value is still the variable's value: the
// native workspace reuses it (native.ValueVersion), and SaveValues saves
// again only what changed.

// noteChanges notes what a cell may change.
func (s *Session) noteChanges(ch check.Changes) {
	if ch.All {
		s.allMayHaveChanged()
		return
	}
	for n := range ch.Vars {
		s.mayHaveChanged(n)
	}
}

// mayHaveChanged notes that variables may have changed: since the last
// SaveValues, and since any encoding the workspace keeps.
func (s *Session) mayHaveChanged(names ...string) {
	if s.changed.Vars == nil {
		s.changed.Vars = map[string]bool{}
	}
	for _, n := range names {
		s.changed.Vars[n] = true
		s.versions[n]++
	}
}

// allMayHaveChanged notes that any variable may have changed.
func (s *Session) allMayHaveChanged() {
	s.changed.All = true
	s.mu.Lock()
	decls := s.store.Decls()
	s.mu.Unlock()
	for _, d := range decls {
		if d.Kind == cell.VarDecl {
			s.versions[d.Name]++
		}
	}
}

// valueVersion is the workspace's ValueVersion: the variable's
// declaration and its version, unless goroutines that cells started run
// (they may change any value at any time).
func (s *Session) valueVersion(name string) (string, bool) {
	s.mu.Lock()
	d, ok := s.store.Lookup(name)
	s.mu.Unlock()
	if !ok || d.Kind != cell.VarDecl || s.goroutinesRun() {
		return "", false
	}
	return fmt.Sprintf("%d:%d:%d", d.Cell, d.Line, s.versions[name]), true
}
