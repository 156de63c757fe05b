package session

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/perfnb/perfnb/runtime/cell"
)

// restorer is implemented by an evaluator that can restore declarations
// as one program (*interp.Interp).
type restorer interface {
	Restore(ctx context.Context, decls []cell.Decl) (kept []cell.Decl, notes []string, err error)
}

// Restore evaluates decls, the declarations in force in an earlier
// session (its Decls), in this fresh one, without publishing anything, and
// stores the ones that succeed: after an interpreter process has crashed,
// its successor gets the definitions back. Variables are declared again
// from their declarations, so their initialisers run again; what
// statements assigned to them since is not restored. Restore returns why
// each declaration that could not be restored failed.
//
// The interpreter restores them as one program, in which yaegi orders the
// declarations itself; if it cannot, they are evaluated one declaration at
// a time, in order, those that fail (one that uses a name declared after
// it) being tried again once the others have run, until no more succeed.
func (s *Session) Restore(ctx context.Context, decls []cell.Decl) []error {
	defer func() {
		s.mu.Lock()
		s.addedAll = true // a restore may drop declarations: report all
		s.mu.Unlock()
	}()
	// What only the compiler held is stored again, not replayed.
	var native []cell.Decl
	decls = slices.DeleteFunc(slices.Clone(decls), func(d cell.Decl) bool {
		if d.Native != "" {
			native = append(native, d)
		}
		return d.Native != ""
	})
	s.mu.Lock()
	s.store.Add(native...)
	s.mu.Unlock()
	s.allMayHaveChanged()
	if r, ok := s.eval.(restorer); ok {
		kept, notes, err := r.Restore(ctx, decls)
		if err == nil {
			s.mu.Lock()
			s.store.Add(kept...)
			s.storeVersion++
			s.mu.Unlock()
			var errs []error
			for _, n := range notes {
				errs = append(errs, errors.New(n))
			}
			return errs
		}
	}
	groups := groupDecls(decls)
	var failed []error
	for len(groups) > 0 {
		var left [][]cell.Decl
		failed = failed[:0]
		for _, g := range groups {
			if ctx.Err() != nil {
				return append(failed, ctx.Err())
			}
			if err := s.restoreOne(ctx, g); err != nil {
				left = append(left, g)
				failed = append(failed, fmt.Errorf("%s (%s): %w", declNames(g), cell.Pos{Cell: g[0].Cell, Line: g[0].Line}, err))
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
	s.storeVersion++
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
