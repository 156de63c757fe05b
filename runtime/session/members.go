package session

import (
	"context"
	"go/types"

	"github.com/perfnb/perfnb/runtime/check"
)

// program returns the type information of the notebook as the store
// holds it now, checking the store when it changed since the last check
// (nil without a checker).
func (s *Session) program() *check.Program {
	if s.checker == nil {
		return nil
	}
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prog != nil && s.progVersion == s.storeVersion {
		return s.prog
	}
	prog, err := s.checker.Check(context.Background(), s.store, nil, 0)
	if err != nil {
		return nil
	}
	s.prog, s.progVersion = prog, s.storeVersion
	return prog
}

// members lists the fields and methods that x. selects, where x is any
// expression of the notebook's program (first, sample[0], p.Inner, T),
// from the type checker's types; ok is false when x is not an expression
// or type of the program (a package name, for one).
func (s *Session) members(x string) (out []candidate, ok bool) {
	prog := s.program()
	if prog == nil {
		return nil, false
	}
	fields, methods, err := prog.Members(x)
	if err != nil {
		return nil, false
	}
	for _, f := range fields {
		out = append(out, candidate{f, "instance"})
	}
	for _, m := range methods {
		out = append(out, candidate{m, "function"})
	}
	return out, true
}

// typeName returns the name of the type declared in a cell that x (a
// variable, or a pointer to one) has, or "".
func (s *Session) typeName(x string) string {
	prog := s.program()
	if prog == nil {
		return ""
	}
	t, _, err := prog.TypeOf(x)
	if err != nil {
		return ""
	}
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() == prog.Pkg {
		return n.Obj().Name()
	}
	return ""
}
