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

// Doc describes the magic.
func (*lsmagic) Doc() string {
	return Doc{Summary: "List the available line and cell magics, with what each does", Usage: []string{"%lsmagic"}}.String()
}

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
	Name       string   // without % signs
	Doc        string   // one line: the summary of its Doc
	Usage      []string // its usage lines, with its options (see Doc)
	Line, Cell bool     // usable as %Name, as %%Name
}

// Listing lists the registered magics, sorted by name.
func (r *Registry) Listing() *Listing {
	l := &Listing{}
	for _, n := range r.Names() {
		m := r.byName[n]
		line, cell := modes(m)
		summary, usage := summaryAndUsage(m.Doc())
		l.Magics = append(l.Magics, ListedMagic{Name: n, Doc: summary, Usage: usage, Line: line, Cell: cell})
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
// followed by each magic's summary and usage lines:
//
//	Available line magics:
//	%lsmagic  %memit  %scalene  %timeit
//
//	Available cell magics:
//	%%memit  %%scalene  %%timeit
//
//	%lsmagic  List the available line and cell magics, ...
//	          %lsmagic
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
		for _, u := range m.Usage {
			fmt.Fprintf(&b, "%-*s  %s\n", width, "", u)
		}
	}
	return b.String()
}

// HTML is the listing as a small table: the magic's spellings, its
// summary and its usage lines. Cells are aligned by structure (a <div
// align="left">), which notebook sanitizers keep, where they strip
// inline styles.
func (l *Listing) HTML() string {
	var b strings.Builder
	b.WriteString(`<table class="perfnb-lsmagic"><thead><tr><th><div align="left">magic</div></th><th><div align="left">description</div></th></tr></thead><tbody>`)
	for _, m := range l.Magics {
		fmt.Fprintf(&b, `<tr><td><div align="left"><code>%s</code></div></td><td><div align="left">%s`,
			html.EscapeString(strings.Join(m.uses(), " ")), html.EscapeString(m.Doc))
		for _, u := range m.Usage {
			fmt.Fprintf(&b, `<br><code>%s</code>`, html.EscapeString(u))
		}
		b.WriteString(`</div></td></tr>`)
	}
	b.WriteString("</tbody></table>")
	return b.String()
}
