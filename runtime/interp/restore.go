package interp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
)

// Restore gives a fresh interpreter the declarations of an earlier one,
// decls, as the session's store lists them (after the earlier one's process
// crashed). They are evaluated quietly as one program, as the replay after
// a type's redefinition does, so that yaegi orders them, each under its
// own cell position: a declaration that no longer compiles is dropped.
// Restore returns the declarations kept and a note for each one dropped;
// on an error, nothing is kept.
func (i *Interp) Restore(ctx context.Context, decls []cell.Decl) (kept []cell.Decl, notes []string, err error) {
	if i.closed {
		return nil, nil, errors.New("the interpreter is closed")
	}
	old := i.log
	l := old.clone()
	for _, d := range decls {
		if d.Kind != cell.ImportDecl {
			l.add(d)
			continue
		}
		// The store keys imports by path, the log by local name.
		a := i.analyze(cell.Import, d.Source)
		if a == nil {
			continue
		}
		for _, s := range importSpecs(a) {
			name := s[0]
			if name == "" {
				name = stdPackageName(s[1])
			}
			if name == "_" || name == "." {
				continue
			}
			l.add(cell.Decl{Kind: cell.ImportDecl, Name: name, Source: fmt.Sprintf("import %s %q", name, s[1]), Cell: d.Cell, Line: d.Line})
		}
	}
	out := &noteWriter{}
	i.cur.set(ctx, out, 0)
	defer i.cur.set(ctx, nil, 0)
	i.log = l
	if err := i.rebuild(ctx, nil, 0); err != nil {
		i.log = old
		return nil, nil, err
	}
	type pos struct{ cell, line int }
	live := map[pos]bool{}
	for _, d := range i.log.list() {
		live[pos{d.Cell, d.Line}] = true
	}
	for _, d := range decls {
		if live[pos{d.Cell, d.Line}] {
			kept = append(kept, d)
		}
	}
	for _, n := range strings.Split(strings.TrimSpace(out.text()), "\n") {
		if n != "" {
			notes = append(notes, strings.TrimPrefix(n, "note: "))
		}
	}
	return kept, notes, nil
}

// noteWriter is a Publisher that keeps the stderr text of a restore (the
// notes of dropped declarations) and drops everything else.
type noteWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *noteWriter) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func (w *noteWriter) Stream(name, text string) {
	if name == "stderr" {
		w.mu.Lock()
		w.b.WriteString(text)
		w.mu.Unlock()
	}
}
func (w *noteWriter) Display(protocol.Bundle, map[string]any, string)       {}
func (w *noteWriter) UpdateDisplay(protocol.Bundle, map[string]any, string) {}
func (w *noteWriter) ClearOutput(bool)                                      {}
func (w *noteWriter) Input(context.Context, string, bool) (string, error) {
	return "", protocol.ErrStdinNotAllowed
}
