package scalene

import (
	"cmp"
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// Sources finds the source text of cell lines: the current cell's body,
// and the stored declarations of earlier cells.
type Sources struct {
	Cell     int      // the current cell's execution count
	Body     []string // the profiled body, one entry a line
	BodyLine int      // the cell line of Body[0]
	Decls    []cell.Decl
}

// NewSources splits body into lines.
func NewSources(cellCount int, body string, bodyLine int, decls []cell.Decl) Sources {
	return Sources{Cell: cellCount, Body: splitLines(body), BodyLine: bodyLine, Decls: decls}
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// inBody reports whether k is a line of the profiled body.
func (s Sources) inBody(k LineKey) bool {
	return k.Cell == s.Cell && k.Line >= s.BodyLine && k.Line < s.BodyLine+len(s.Body)
}

// decl returns the index of the stored declaration holding line k.
func (s Sources) decl(k LineKey) (int, bool) {
	for i, d := range s.Decls {
		if d.Cell == k.Cell && k.Line >= d.Line && k.Line < d.Line+len(splitLines(d.Source)) {
			return i, true
		}
	}
	return 0, false
}

// Text returns the source text of line k, if known.
func (s Sources) Text(k LineKey) string {
	if s.inBody(k) {
		return s.Body[k.Line-s.BodyLine]
	}
	if i, ok := s.decl(k); ok {
		d := s.Decls[i]
		return splitLines(d.Source)[k.Line-d.Line]
	}
	return ""
}

// Row is one row of the line table.
type Row struct {
	Key     LineKey
	Label   string // "7" for the current cell, "In[3]:7" for an earlier cell
	Source  string
	Stats   LineStats
	Gap     bool // a "..." row standing for lines left out
	Outside bool // the row for time and memory no cell line accounts for
}

// Table is the line profile, ready to render.
type Table struct {
	Cell       int
	HasCPU     bool
	HasMem     bool
	Executions int64 // body executions in the memory run
	Total      LineStats
	Outside    LineStats // the part of Total no cell line accounts for
	Rows       []Row
}

// TableOptions selects the rows of a Table.
type TableOptions struct {
	Reduced   bool    // only lines above Threshold, gaps shown as "..."
	Threshold float64 // percent of CPU time (or of allocated bytes)
}

// BuildTable lays out att's lines: the body's lines first, then the lines
// of earlier cells' declarations that received samples, then the share no
// line accounts for.
func BuildTable(att *Attribution, src Sources, hasCPU, hasMem bool, executions int64, opts TableOptions) *Table {
	t := &Table{Cell: src.Cell, HasCPU: hasCPU, HasMem: hasMem, Executions: max(executions, 1), Total: att.Total, Outside: att.Outside}
	stats := func(k LineKey) LineStats {
		if s := att.Lines[k]; s != nil {
			return *s
		}
		return LineStats{}
	}
	significant := func(s LineStats) bool {
		if hasCPU && percent(s.CPUTotal(), att.Total.CPUTotal()) >= opts.Threshold {
			return true
		}
		return hasMem && s.AllocBytes > 0 && percent(s.AllocBytes, att.Total.AllocBytes) >= opts.Threshold
	}
	var keys []LineKey
	for i := range src.Body {
		keys = append(keys, LineKey{Cell: src.Cell, Line: src.BodyLine + i})
	}
	// Earlier cells: whole declarations that were touched, in cell order.
	var touched []int
	var loose []LineKey
	for k := range att.Lines {
		if src.inBody(k) {
			continue
		}
		if i, ok := src.decl(k); ok {
			if !slices.Contains(touched, i) {
				touched = append(touched, i)
			}
		} else {
			loose = append(loose, k)
		}
	}
	slices.SortFunc(touched, func(a, b int) int {
		da, db := src.Decls[a], src.Decls[b]
		return cmp.Or(cmp.Compare(da.Cell, db.Cell), cmp.Compare(da.Line, db.Line))
	})
	for _, i := range touched {
		d := src.Decls[i]
		for j := range splitLines(d.Source) {
			keys = append(keys, LineKey{Cell: d.Cell, Line: d.Line + j})
		}
	}
	slices.SortFunc(loose, func(a, b LineKey) int {
		return cmp.Or(cmp.Compare(a.Cell, b.Cell), cmp.Compare(a.Line, b.Line))
	})
	keys = append(keys, loose...)

	var prev *LineKey
	for _, k := range keys {
		s := stats(k)
		if opts.Reduced && !significant(s) {
			continue
		}
		if prev != nil && (prev.Cell != k.Cell || prev.Line+1 != k.Line) {
			t.Rows = append(t.Rows, Row{Gap: true})
		}
		label := strconv.Itoa(k.Line)
		if k.Cell != src.Cell {
			label = k.String()
		}
		t.Rows = append(t.Rows, Row{Key: k, Label: label, Source: src.Text(k), Stats: s})
		prev = &k
	}
	if att.Outside != (LineStats{}) && (!opts.Reduced || significant(att.Outside)) {
		if len(t.Rows) > 0 {
			t.Rows = append(t.Rows, Row{Gap: true})
		}
		t.Rows = append(t.Rows, Row{Outside: true, Label: "", Source: outsideText, Stats: att.Outside})
	}
	return t
}

const outsideText = "(Go runtime, not attributable to a line)"

func percent(v, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return 100 * float64(v) / float64(total)
}

// share formats a percentage as Scalene does: whole percents, blank under 1%.
func share(v, total int64) string {
	p := percent(v, total)
	if p < 1 {
		return ""
	}
	return fmt.Sprintf("%.0f%%", p)
}

// perExec formats a per-execution count, exact when it divides.
func perExec(v, n int64) string {
	if v == 0 {
		return ""
	}
	if v%n == 0 {
		return magics.Thousands(v / n)
	}
	return strconv.FormatFloat(float64(v)/float64(n), 'f', 1, 64)
}

// Title is Scalene's title line: In[5]: % of time = 100.00% out of 1.02 s.
func (t *Table) Title() string {
	if !t.HasCPU {
		return fmt.Sprintf("In[%d]: memory profile.", t.Cell)
	}
	return fmt.Sprintf("In[%d]: %% of time = 100.00%% out of %.2f s.", t.Cell, float64(t.Total.CPUTotal())/1e9)
}

// MemoryLine summarises the memory run.
func (t *Table) MemoryLine() string {
	if !t.HasMem {
		return ""
	}
	runs := "execution"
	if t.Executions != 1 {
		runs = "executions"
	}
	bytes, objects := t.Total.AllocBytes-t.Outside.AllocBytes, t.Total.AllocObjects-t.Outside.AllocObjects
	line := fmt.Sprintf("Allocated %s in %s objects per execution on the cell's lines (%s %s, every allocation recorded)",
		sysmem.FormatBytes(float64(bytes)/float64(t.Executions)), cmp.Or(perExec(objects, t.Executions), "0"), magics.Thousands(t.Executions), runs)
	if t.Outside.AllocBytes > 0 {
		line += fmt.Sprintf("; the runtime, the test harness and package initialisation allocated %s more", sysmem.FormatBytes(float64(t.Outside.AllocBytes)))
	}
	return line + "."
}

// barValue is the share the bar shows: CPU time when there is any,
// allocated bytes otherwise.
func (t *Table) barValue(s LineStats) float64 {
	if t.HasCPU {
		return percent(s.CPUTotal(), t.Total.CPUTotal())
	}
	return percent(s.AllocBytes, t.Total.AllocBytes)
}

const barWidth = 20

func textBar(p float64) string {
	n := int(math.Round(p / 100 * barWidth))
	return strings.Repeat("▇", n) + strings.Repeat(" ", barWidth-n)
}

// Text renders the table as text/plain.
func (t *Table) Text() string {
	labelW := len("Line")
	for _, r := range t.Rows {
		labelW = max(labelW, len(r.Label))
	}
	type col struct {
		head1, head2 string
		w            int
		val          func(r Row) string
	}
	var cols []col
	if t.HasCPU {
		tot := t.Total.CPUTotal()
		cols = append(cols,
			col{"Time", "Go", 4, func(r Row) string { return share(r.Stats.CPU[CatGo], tot) }},
			col{"Time", "runtime", 7, func(r Row) string { return share(r.Stats.CPU[CatRuntime], tot) }},
			col{"Time", "system", 6, func(r Row) string { return share(r.Stats.CPU[CatSystem], tot) }})
	}
	if t.HasMem {
		cols = append(cols,
			col{"Alloc", "bytes", 10, func(r Row) string {
				if r.Stats.AllocBytes == 0 {
					return ""
				}
				return sysmem.FormatBytes(float64(r.Stats.AllocBytes) / float64(t.Executions))
			}},
			col{"Alloc", "objects", 9, func(r Row) string { return perExec(r.Stats.AllocObjects, t.Executions) }})
	}
	var b strings.Builder
	b.WriteString(t.Title() + "\n")
	if m := t.MemoryLine(); m != "" {
		b.WriteString(m + "\n")
	}
	b.WriteString("\n")
	barHead := "CPU"
	if !t.HasCPU {
		barHead = "memory"
	}
	head := func(first string, pick func(c col) string, bar string) {
		fmt.Fprintf(&b, "%*s │", labelW, first)
		for _, c := range cols {
			fmt.Fprintf(&b, " %*s │", c.w, pick(c))
		}
		fmt.Fprintf(&b, "%-*s│ %s\n", barWidth, bar, map[bool]string{true: "", false: "Source"}[first == ""])
	}
	head("", func(c col) string { return c.head1 }, "")
	head("Line", func(c col) string { return c.head2 }, barHead)
	b.WriteString(strings.Repeat("─", labelW) + "─┼")
	for _, c := range cols {
		b.WriteString(strings.Repeat("─", c.w+2) + "┼")
	}
	b.WriteString(strings.Repeat("─", barWidth) + "┼" + strings.Repeat("─", 30) + "\n")
	for _, r := range t.Rows {
		if r.Gap {
			fmt.Fprintf(&b, "%*s │\n", labelW, "...")
			continue
		}
		fmt.Fprintf(&b, "%*s │", labelW, r.Label)
		for _, c := range cols {
			fmt.Fprintf(&b, " %*s │", c.w, c.val(r))
		}
		fmt.Fprintf(&b, "%s│ %s\n", textBar(t.barValue(r.Stats)), strings.ReplaceAll(r.Source, "\t", "    "))
	}
	return b.String()
}

// Colours of the CPU categories, the same in the table's bars and the
// static flame graph; they read on light and dark backgrounds.
var catColor = [3]string{CatGo: "#3b82f6", CatRuntime: "#f59e0b", CatSystem: "#ef4444"}

const memColor = "#a855f7"

// HTML renders the table as an HTML fragment with inline styles only, so
// that it survives notebook sanitizers and reads in light and dark themes
// (text colour is inherited; fills are mid-tone).
func (t *Table) HTML() string {
	var b strings.Builder
	esc := html.EscapeString
	b.WriteString(`<div style="font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;line-height:1.35;color:inherit">`)
	fmt.Fprintf(&b, `<div style="font-weight:bold;margin:2px 0">%s</div>`, esc(t.Title()))
	if m := t.MemoryLine(); m != "" {
		fmt.Fprintf(&b, `<div style="margin:2px 0">%s</div>`, esc(m))
	}
	th := `<th style="padding:2px 6px;text-align:%s;border-bottom:1px solid rgba(128,128,128,.5);white-space:nowrap">%s</th>`
	b.WriteString(`<table style="border-collapse:collapse;margin-top:4px;color:inherit;background:transparent">`)
	b.WriteString("<thead><tr>")
	fmt.Fprintf(&b, th, "right", "Line")
	if t.HasCPU {
		for _, h := range []string{"Time<br>Go", "Time<br>runtime", "Time<br>system"} {
			fmt.Fprintf(&b, th, "right", h)
		}
	}
	if t.HasMem {
		fmt.Fprintf(&b, th, "right", "Alloc<br>bytes")
		fmt.Fprintf(&b, th, "right", "Alloc<br>objects")
	}
	if t.HasCPU {
		fmt.Fprintf(&b, th, "left", "CPU")
	} else {
		fmt.Fprintf(&b, th, "left", "Memory")
	}
	fmt.Fprintf(&b, th, "left", "Source")
	b.WriteString("</tr></thead><tbody>")
	td := `<td style="padding:1px 6px;text-align:right;white-space:nowrap">%s</td>`
	ncols := 3
	if t.HasCPU {
		ncols += 3
	}
	if t.HasMem {
		ncols += 2
	}
	for i, r := range t.Rows {
		if r.Gap {
			fmt.Fprintf(&b, `<tr><td colspan="%d" style="padding:0 6px;opacity:.6">⋮</td></tr>`, ncols)
			continue
		}
		bg := "transparent"
		if i%2 == 1 {
			bg = "rgba(128,128,128,.08)"
		}
		fmt.Fprintf(&b, `<tr style="background:%s">`, bg)
		fmt.Fprintf(&b, td, esc(r.Label))
		tot := t.Total.CPUTotal()
		if t.HasCPU {
			for c := range 3 {
				fmt.Fprintf(&b, td, share(r.Stats.CPU[c], tot))
			}
		}
		if t.HasMem {
			bytes := ""
			if r.Stats.AllocBytes != 0 {
				bytes = fmt.Sprintf(`<span title="%s bytes">%s</span>`,
					perExec(r.Stats.AllocBytes, t.Executions), esc(sysmem.FormatBytes(float64(r.Stats.AllocBytes)/float64(t.Executions))))
			}
			fmt.Fprintf(&b, td, bytes)
			fmt.Fprintf(&b, td, perExec(r.Stats.AllocObjects, t.Executions))
		}
		b.WriteString(`<td style="padding:1px 6px"><div style="width:120px;height:10px;background:rgba(128,128,128,.15);display:flex">`)
		if t.HasCPU {
			for c := range 3 {
				if p := percent(r.Stats.CPU[c], tot); p > 0 {
					fmt.Fprintf(&b, `<div title="%s %.1f%%" style="width:%.2f%%;background:%s"></div>`, Category(c), p, p, catColor[c])
				}
			}
		} else if p := percent(r.Stats.AllocBytes, t.Total.AllocBytes); p > 0 {
			fmt.Fprintf(&b, `<div title="%.1f%% of bytes" style="width:%.2f%%;background:%s"></div>`, p, p, memColor)
		}
		b.WriteString(`</div></td>`)
		style := "padding:1px 6px;text-align:left;white-space:pre;tab-size:4"
		if r.Outside {
			style += ";font-style:italic;opacity:.75"
		}
		fmt.Fprintf(&b, `<td style="%s">%s</td></tr>`, style, esc(r.Source))
	}
	b.WriteString("</tbody></table></div>")
	return b.String()
}
