package session

import (
	"context"
	"fmt"

	"github.com/perfnb/perfnb/runtime/cell"
)

// Restore evaluates decls, the declarations in force in an earlier
// session (its Decls), in this fresh one, without publishing anything, and
// stores the ones that succeed: after an interpreter process has crashed,
// its successor gets the definitions back. Variables are declared again
// from their declarations, so their initialisers run again; what
// statements assigned to them since is not restored.
//
// The names of one declaration are evaluated together, in the order of
// decls; a declaration that fails (one that uses a name declared after
// it, say) is tried again once the others have run, until no more succeed.
// before, if not nil, is called ahead of each attempt. Restore returns
// why each declaration that could not be restored failed.
func (s *Session) Restore(ctx context.Context, decls []cell.Decl, before func(cell.Decl)) []error {
	groups := groupDecls(decls)
	var failed []error
	for len(groups) > 0 {
		var left [][]cell.Decl
		failed = failed[:0]
		for _, g := range groups {
			if ctx.Err() != nil {
				return append(failed, ctx.Err())
			}
			if before != nil {
				before(g[0])
			}
			if err := s.restoreOne(ctx, g); err != nil {
				left = append(left, g)
				failed = append(failed, fmt.Errorf("%s (In[%d]:%d): %w", declNames(g), g[0].Cell, g[0].Line, err))
				continue
			}
		}
		if len(left) == len(groups) {
			break
		}
		groups = left
	}
	return failed
}

// restoreOne evaluates the names of one declaration and stores them.
func (s *Session) restoreOne(ctx context.Context, g []cell.Decl) error {
	if s.eval == nil {
		return fmt.Errorf("the Go interpreter could not start: %w", s.evalErr)
	}
	kind := cell.Declaration
	if g[0].Kind == cell.ImportDecl {
		kind = cell.Import
	}
	it := cell.Item{Kind: kind, Source: g[0].Source, Line: g[0].Line, Decls: append([]cell.Decl(nil), g...)}
	err := guard(func() error {
		_, _, err := s.eval.Eval(ctx, it, g[0].Cell, discard{})
		return err
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.store.Add(g...)
	s.mu.Unlock()
	return nil
}

// groupDecls groups decls by declaration (the names sharing Kind, Cell,
// Line and Source), in the order of their first name.
func groupDecls(decls []cell.Decl) [][]cell.Decl {
	type id struct {
		kind       cell.DeclKind
		cell, line int
		source     string
	}
	index := map[id]int{}
	var groups [][]cell.Decl
	for _, d := range decls {
		k := id{d.Kind, d.Cell, d.Line, d.Source}
		if i, ok := index[k]; ok {
			groups[i] = append(groups[i], d)
			continue
		}
		index[k] = len(groups)
		groups = append(groups, []cell.Decl{d})
	}
	return groups
}

// declNames names the declaration g for a note: "x", "a, b", "import fmt".
func declNames(g []cell.Decl) string {
	var s string
	for i, d := range g {
		if i > 0 {
			s += ", "
		}
		s += d.Name
	}
	if g[0].Kind == cell.ImportDecl {
		return "import " + s
	}
	return s
}
