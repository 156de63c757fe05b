package magics

import (
	"context"
	"fmt"
	"html"
	"strings"
)

// Modes is implemented by a magic that is not both a line magic (%name)
// and a cell magic (%%name), the default. The registry refuses the mode a
// magic does not have, as it refuses an unknown magic.
type Modes interface {
	// Modes reports whether the magic works as a line magic and as a
	// cell magic.
	Modes() (line, cell bool)
}

// modes returns the modes of m.
func modes(m Magic) (line, cell bool) {
	if mm, ok := m.(Modes); ok {
		return mm.Modes()
	}
	return true, true
}

// lsmagic is the %lsmagic line magic: it lists the registry's magics.
type lsmagic struct{ r *Registry }

// Name returns "lsmagic".
func (*lsmagic) Name() string { return "lsmagic" }

// Doc describes the magic in one line.
func (*lsmagic) Doc() string { return "List the available line and cell magics, with what each does" }

// Modes reports that %lsmagic is a line magic only.
func (*lsmagic) Modes() (line, cell bool) { return true, false }

// Run returns the Listing of the registry's magics, shown as the cell's
// value as in IPython.
func (m *lsmagic) Run(_ context.Context, call Call, _ Env) (any, error) {
	if strings.TrimSpace(call.Args) != "" {
		return nil, UsageError("%%lsmagic takes no arguments, not %q", strings.TrimSpace(call.Args))
	}
	return m.r.Listing(), nil
}

// Listing is the list of a registry's magics that %lsmagic shows: its
// String method gives IPython's text, its HTML method a table.
type Listing struct {
	Magics []ListedMagic // sorted by name
}

// ListedMagic is one magic of a Listing.
type ListedMagic struct {
	Name       string // without % signs
	Doc        string // one line
	Line, Cell bool   // usable as %Name, as %%Name
}

// Listing lists the registered magics, sorted by name.
func (r *Registry) Listing() *Listing {
	l := &Listing{}
	for _, n := range r.Names() {
		m := r.byName[n]
		line, cell := modes(m)
		l.Magics = append(l.Magics, ListedMagic{Name: n, Doc: m.Doc(), Line: line, Cell: cell})
	}
	return l
}

// uses returns the magic's spellings: "%timeit", "%%timeit".
func (m ListedMagic) uses() []string {
	var u []string
	if m.Line {
		u = append(u, "%"+m.Name)
	}
	if m.Cell {
		u = append(u, "%%"+m.Name)
	}
	return u
}

// String is the text/plain listing, as IPython's %lsmagic prints it,
// followed by each magic's description:
//
//	Available line magics:
//	%lsmagic  %memit  %scalene  %timeit
//
//	Available cell magics:
//	%%memit  %%scalene  %%timeit
//
//	%lsmagic: List the available line and cell magics, ...
func (l *Listing) String() string {
	var lines, cells []string
	width := 0
	for _, m := range l.Magics {
		if m.Line {
			lines = append(lines, "%"+m.Name)
		}
		if m.Cell {
			cells = append(cells, "%%"+m.Name)
		}
		width = max(width, len(m.Name)+1)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Available line magics:\n%s\n\nAvailable cell magics:\n%s\n\n", strings.Join(lines, "  "), strings.Join(cells, "  "))
	for _, m := range l.Magics {
		fmt.Fprintf(&b, "%-*s  %s\n", width, "%"+m.Name, m.Doc)
	}
	return b.String()
}

// HTML is the listing as a small table: the magic's spellings and its
// description.
func (l *Listing) HTML() string {
	var b strings.Builder
	b.WriteString(`<table class="perfnb-lsmagic"><tr><th style="text-align:left">magic</th><th style="text-align:left">description</th></tr>`)
	for _, m := range l.Magics {
		fmt.Fprintf(&b, `<tr><td style="text-align:left"><code>%s</code></td><td style="text-align:left">%s</td></tr>`,
			html.EscapeString(strings.Join(m.uses(), " ")), html.EscapeString(m.Doc))
	}
	b.WriteString("</table>")
	return b.String()
}
