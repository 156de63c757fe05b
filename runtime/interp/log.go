package interp

import (
	"github.com/perfnb/perfnb/runtime/cell"
)

// declLog records every declaration the yaegi interpreter holds, in the
// order first declared, a later definition of a name replacing the earlier
// one in place. It mirrors the declaration store, plus what the store does
// not see: imports on first use and the earlier items of a failing cell.
type declLog struct {
	keys []string
	m    map[string]cell.Decl
}

func newDeclLog() *declLog { return &declLog{m: map[string]cell.Decl{}} }

// key is the name a declaration occupies: one namespace for types, funcs,
// consts and vars, "T.M" for methods, "import:name" for imports.
func key(d cell.Decl) string {
	if d.Kind == cell.ImportDecl {
		return "import:" + d.Name
	}
	return d.Name
}

func (l *declLog) clone() *declLog {
	c := &declLog{keys: append([]string(nil), l.keys...), m: make(map[string]cell.Decl, len(l.m))}
	for k, v := range l.m {
		c.m[k] = v
	}
	return c
}

func (l *declLog) add(d cell.Decl) {
	k := key(d)
	if _, ok := l.m[k]; !ok {
		l.keys = append(l.keys, k)
	}
	l.m[k] = d
}

func (l *declLog) get(k string) (cell.Decl, bool) {
	d, ok := l.m[k]
	return d, ok
}

func (l *declLog) remove(k string) {
	if _, ok := l.m[k]; !ok {
		return
	}
	delete(l.m, k)
	for j, x := range l.keys {
		if x == k {
			l.keys = append(l.keys[:j], l.keys[j+1:]...)
			break
		}
	}
}

// list returns the declarations in order.
func (l *declLog) list() []cell.Decl {
	out := make([]cell.Decl, 0, len(l.keys))
	for _, k := range l.keys {
		out = append(out, l.m[k])
	}
	return out
}

// locate returns the keys of the declaration an error message points at:
// the one of that cell starting last at or before the error's line, with
// the other names declared by the same source.
func (l *declLog) locate(msg string) []string {
	p, ok := cell.FindPos(msg)
	if !ok {
		return nil
	}
	c, line := p.Cell, p.Line
	var best cell.Decl
	found := false
	for _, k := range l.keys {
		d := l.m[k]
		if d.Kind == cell.ImportDecl || d.Cell != c || d.Line > line {
			continue
		}
		if !found || d.Line > best.Line {
			best, found = d, true
		}
	}
	if !found {
		return nil
	}
	var keys []string
	for _, k := range l.keys {
		d := l.m[k]
		if d.Cell == best.Cell && d.Line == best.Line && d.Source == best.Source {
			keys = append(keys, k)
		}
	}
	return keys
}
