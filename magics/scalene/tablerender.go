package scalene

import (
	"cmp"
	_ "embed"
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"html/template"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// Title is Scalene's title line: In[5]: % of time = 100.00% out of 1.02 s.
func (t *Table) Title() string {
	if !t.HasCPU {
		return cell.File(t.Cell) + ": memory profile."
	}
	return fmt.Sprintf("%s: %% of time = 100.00%% out of %.2f s.", cell.File(t.Cell), float64(t.Total.CPUSelf())/1e9)
}

// MemoryLine summarises the memory run.
func (t *Table) MemoryLine() string {
	if !t.HasMem {
		return ""
	}
	bytes, objects := t.Total.AllocBytes-t.Outside.AllocBytes, t.Total.AllocObjects-t.Outside.AllocObjects
	line := fmt.Sprintf("Allocated %s in %s per execution on the cell's lines (%s, every allocation recorded)",
		sysmem.FormatBytes(float64(bytes)/float64(t.Executions)), magics.Plural(cmp.Or(perExec(objects, t.Executions), "0"), "object"),
		magics.Plural(magics.Thousands(t.Executions), "execution"))
	if t.Outside.AllocBytes > 0 {
		line += fmt.Sprintf("; the runtime allocated %s more, outside any line", sysmem.FormatBytes(float64(t.Outside.AllocBytes)))
	}
	return line + "."
}

// SetUpLine says what was left out of the profiles: perfnb's own set-up
// in the child; "" when there was none.
func (t *Table) SetUpLine() string {
	var parts []string
	if t.HasCPU && t.SetUp.CPU > 0 {
		parts = append(parts, fmt.Sprintf("%.2f s of CPU", float64(t.SetUp.CPU)/1e9))
	}
	if t.HasMem && t.SetUp.Bytes > 0 {
		parts = append(parts, sysmem.FormatBytes(float64(t.SetUp.Bytes))+" allocated")
	}
	if len(parts) == 0 {
		return ""
	}
	return "Left out of the table and the flame graphs: perfnb's set-up in the child (loading the notebook's values, " +
		"initialising the declarations, the test harness), " + strings.Join(parts, " and ") + "."
}

// selfTotalLegend explains the two kinds of figures.
const selfTotalLegend = "Self: the line's own work, with the library and runtime code it calls (inlined code included). " +
	"Total: with the cell functions it calls as well (pprof's flat and cum)."

// column is a figure column of the table, in both renderings.
type column struct {
	head  [2]string // two header lines: "Self", "Go"
	val   func(r Row) string
	title func(r Row) string // a hover text in HTML; nil for none
	mem   bool               // a figure of the memory profile
}

// columns are the table's figure columns that carry a figure: self time
// by category and total time when there is a CPU profile, on some row;
// self and total allocations when there is a memory profile, on some
// line of a cell (what the runtime allocated outside any line is in the
// memory line above the table).
func (t *Table) columns() []column {
	var cols []column
	if t.HasCPU {
		tot := t.Total.CPUSelf()
		for c := range Category(3) {
			cols = append(cols, column{head: [2]string{"Self", c.String()}, val: func(r Row) string { return share(r.Stats.CPU[c], tot) }})
		}
		cols = append(cols, column{head: [2]string{"Total", "time"}, val: func(r Row) string { return share(r.Stats.CumCPU, tot) }})
	}
	if t.HasMem {
		bytes := func(v int64) string {
			if v == 0 {
				return ""
			}
			return sysmem.FormatBytes(float64(v) / float64(t.Executions))
		}
		exact := func(v int64) string { return cmp.Or(perExec(v, t.Executions), "0") + " bytes" }
		cols = append(cols,
			column{[2]string{"Alloc", "bytes"}, func(r Row) string { return bytes(r.Stats.AllocBytes) }, func(r Row) string { return exact(r.Stats.AllocBytes) }, true},
			column{[2]string{"Alloc", "objects"}, func(r Row) string { return perExec(r.Stats.AllocObjects, t.Executions) }, nil, true},
			column{[2]string{"Total", "alloc"}, func(r Row) string { return bytes(r.Stats.CumBytes) }, func(r Row) string { return exact(r.Stats.CumBytes) }, true})
	}
	var used []column
	for _, c := range cols {
		for _, r := range t.Rows {
			// The runtime's own allocations outside any line are a
			// summary line's; its time is a row's, with its columns.
			if !r.Gap && (!r.Outside || !c.mem) && c.val(r) != "" {
				used = append(used, c)
				break
			}
		}
	}
	return used
}

// decisions returns row r's compiler markers and their texts; none for a
// line without samples in a reduced profile.
func (t *Table) decisions(r Row) (string, []string) {
	if t.Decisions == nil || r.Gap || r.Outside {
		return "", nil
	}
	s := r.Stats
	if t.Reduced && s.CumCPU == 0 && s.CPUSelf() == 0 && s.CumBytes == 0 && s.AllocBytes == 0 {
		return "", nil
	}
	return t.Decisions.Markers(r.Key), t.Decisions.Summary(r.Key)
}

// hasMarkers reports whether some row has compiler markers, so that the
// Compiler column is shown.
func (t *Table) hasMarkers() bool {
	for _, r := range t.Rows {
		if m, _ := t.decisions(r); m != "" {
			return true
		}
	}
	return false
}

// Notes are the lines under the table: what Self and Total mean, the
// legend of the compiler's markers, and the compiler's decisions in
// full, line by line.
func (t *Table) Notes() []string {
	notes := []string{selfTotalLegend}
	if t.Decisions == nil {
		return notes
	}
	var used string
	var full []string
	for _, r := range t.Rows {
		m, texts := t.decisions(r)
		used += m
		for _, x := range texts {
			full = append(full, fmt.Sprintf("  %s: %s", r.Key, x))
		}
	}
	if used != "" {
		notes = append(notes, "Compiler: "+Legend(used)+".")
	}
	if t.Decisions.Note != "" {
		notes = append(notes, "Compiler's decisions: "+t.Decisions.Note+".")
	}
	return append(notes, full...)
}

// barWidth is the bar's width in characters; a character is ten
// percent, split in eighths by the partial blocks.
const barWidth = 10

// eighths are the blocks of one to eight eighths of a character's width.
var eighths = [...]string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"}

// barSegment is a run of a bar in one colour.
type barSegment struct {
	Text, Color, Title string
}

// barSegments draws the shares parts (percent each, in order) as text
// bars of barWidth characters: whole blocks for each part, and the
// remainder of the last in eighths. A part under 1% is not drawn, as its
// share is not written (see share); one above gets an eighth at least.
func barSegments(parts []float64) []string {
	out := make([]string, len(parts))
	last := -1
	for i, p := range parts {
		if p >= 1 {
			last = i
		}
	}
	used := 0 // eighths
	for i, p := range parts {
		if p < 1 {
			continue
		}
		n := int(math.Round(p / 100 * barWidth * 8))
		if i != last {
			n = max(8*int(math.Round(float64(n)/8)), 8) // whole characters, one a colour
		}
		n = max(min(n, 8*barWidth-used), 1)
		out[i] = strings.Repeat(eighths[8], n/8) + eighths[n%8]
		used += 8 * utf8.RuneCountInString(out[i])
	}
	return out
}

// bar returns the segments of a row's bar: self CPU time by category, or
// self allocated bytes without a CPU profile.
func (t *Table) bar(s LineStats) []barSegment { return t.barOf(s, !t.HasCPU) }

// barOf returns the segments of a row's bar of self CPU time by category,
// or of self allocated bytes when mem is set.
func (t *Table) barOf(s LineStats, mem bool) []barSegment {
	if mem {
		p := percent(s.AllocBytes, t.Total.AllocBytes)
		if text := barSegments([]float64{p})[0]; text != "" {
			return []barSegment{{text, memColor, fmt.Sprintf("%.1f%% of the bytes", p)}}
		}
		return nil
	}
	var ps []float64
	for c := range Category(3) {
		ps = append(ps, percent(s.CPU[c], t.Total.CPUSelf()))
	}
	var segs []barSegment
	for c, text := range barSegments(ps) {
		if text != "" {
			segs = append(segs, barSegment{text, catColor[c], fmt.Sprintf("%s %.1f%%", Category(c), ps[c])})
		}
	}
	return segs
}

// Colours of the CPU categories, the same in the table's bars and the
// static flame graph; they read on light and dark backgrounds.
var catColor = [3]string{CatGo: "#3b82f6", CatRuntime: "#f59e0b", CatSystem: "#ef4444"}

const memColor = "#a855f7"

// textWidth is the width of the text table: a terminal of 100 columns.
const textWidth = 100

// minSourceWidth is the least width the source column gets in text.
const minSourceWidth = 30

// twoTablesWidth is the least width the source gets in one text table
// of CPU and memory figures: below it, the text has a table of each.
const twoTablesWidth = 40

// textLayout is the columns of a text table and their widths.
type textLayout struct {
	t            *Table
	cols         []column
	widths       []int // of the figure columns
	label, mark  int   // mark is 0 without a Compiler column
	source       int
	mem          bool // the bar shows memory rather than CPU time
	b            *strings.Builder
	blankFigures []string
}

// textLayout measures a table of the columns cols, with a bar of memory
// when mem is set and the compiler's markers when marks is: the figure
// columns as wide as their widest cell, and the source what is left of
// textWidth.
func (t *Table) textLayout(b *strings.Builder, cols []column, mem, marks bool) *textLayout {
	l := &textLayout{t: t, cols: cols, label: len("Line"), mem: mem, b: b, blankFigures: make([]string, len(cols))}
	for _, r := range t.Rows {
		l.label = max(l.label, len(r.Label))
	}
	l.widths = make([]int, len(l.cols))
	for i, c := range l.cols {
		l.widths[i] = max(len(c.head[0]), len(c.head[1]))
		for _, r := range t.Rows {
			if !r.Gap {
				l.widths[i] = max(l.widths[i], utf8.RuneCountInString(c.val(r)))
			}
		}
	}
	if marks && t.hasMarkers() {
		l.mark = len("Compiler")
		for _, r := range t.Rows {
			m, _ := t.decisions(r)
			l.mark = max(l.mark, len(m))
		}
	}
	used := l.label + 3 + barWidth + 3
	for _, w := range l.widths {
		used += 3 + w
	}
	if l.mark > 0 {
		used += l.mark + 3
	}
	l.source = max(textWidth-used, minSourceWidth)
	return l
}

// textLayouts lays the text out: one table, or, when the figures of a
// CPU and a memory profile leave the source less than twoTablesWidth, a
// table of each (the compiler's markers in the first), as pprof shows
// one sample type at a time.
func (t *Table) textLayouts(b *strings.Builder) []*textLayout {
	cols := t.columns()
	one := t.textLayout(b, cols, !t.HasCPU, true)
	if one.source >= twoTablesWidth || !t.HasCPU || !t.HasMem {
		return []*textLayout{one}
	}
	var cpu, mem []column
	for _, c := range cols {
		if c.mem {
			mem = append(mem, c)
		} else {
			cpu = append(cpu, c)
		}
	}
	if len(mem) == 0 || len(cpu) == 0 {
		return []*textLayout{one}
	}
	return []*textLayout{t.textLayout(b, cpu, false, true), t.textLayout(b, mem, true, false)}
}

// row writes a row of the table.
func (l *textLayout) row(label string, figs []string, bar, mark, src string) {
	line := padLeft(label, l.label)
	for i, f := range figs {
		line += " │ " + padLeft(f, l.widths[i])
	}
	line += " │ " + padRight(bar, barWidth)
	if l.mark > 0 {
		line += " │ " + padRight(mark, l.mark)
	}
	l.b.WriteString(strings.TrimRight(line+" │ "+src, " ") + "\n")
}

// head writes the two header rows and the rule under them.
func (l *textLayout) head() {
	heads := func(k int) []string {
		var h []string
		for _, c := range l.cols {
			h = append(h, c.head[k])
		}
		return h
	}
	barHead := "CPU (self)"
	if l.mem {
		barHead = "memory"
	}
	l.row("", heads(0), "", "", "")
	l.row("Line", heads(1), barHead, map[bool]string{true: "Compiler"}[l.mark > 0], "Source")
	rule := strings.Repeat("─", l.label)
	for _, w := range l.widths {
		rule += "─┼─" + strings.Repeat("─", w)
	}
	rule += "─┼─" + strings.Repeat("─", barWidth)
	if l.mark > 0 {
		rule += "─┼─" + strings.Repeat("─", l.mark)
	}
	l.b.WriteString(rule + "─┼─" + strings.Repeat("─", min(l.source, 30)) + "\n")
}

// rows writes the table's rows, each source line wrapped to the width
// the figures leave it.
func (l *textLayout) rows() {
	for _, r := range l.t.Rows {
		if r.Gap {
			l.row("...", l.blankFigures, "", "", "")
			continue
		}
		figs := make([]string, len(l.cols))
		for i, c := range l.cols {
			figs[i] = c.val(r)
		}
		var bar, mark string
		for _, s := range l.t.barOf(r.Stats, l.mem) {
			bar += s.Text
		}
		if l.mark > 0 {
			mark, _ = l.t.decisions(r)
		}
		for i, src := range wrapSource(r.Source, l.source) {
			if i == 0 {
				l.row(r.Label, figs, bar, mark, src)
			} else {
				l.row("", l.blankFigures, "", "", src)
			}
		}
	}
}

// Text renders the table as text/plain, at most textWidth columns wide
// unless the figures alone need more: the columns that carry figures,
// and each source line wrapped to the width left (see textLayouts).
func (t *Table) Text() string {
	var b strings.Builder
	b.WriteString(t.Title() + "\n")
	for _, l := range []string{t.MemoryLine(), t.SetUpLine()} {
		if l != "" {
			b.WriteString(l + "\n")
		}
	}
	for _, l := range t.textLayouts(&b) {
		b.WriteString("\n")
		l.head()
		l.rows()
	}
	b.WriteString("\n")
	for _, n := range t.Notes() {
		b.WriteString(n + "\n")
	}
	return b.String()
}

func padLeft(s string, w int) string {
	return strings.Repeat(" ", max(w-utf8.RuneCountInString(s), 0)) + s
}

func padRight(s string, w int) string {
	return s + strings.Repeat(" ", max(w-utf8.RuneCountInString(s), 0))
}

// tabWidth is the width a tab of the source takes in the tables.
const tabWidth = 4

// wrapSource splits a source line, its tabs expanded, into pieces of at
// most width characters: at the last space that fits, else anywhere,
// each continuation indented one level more than the line.
func wrapSource(src string, width int) []string {
	line := strings.ReplaceAll(src, "\t", strings.Repeat(" ", tabWidth))
	indent := len(line) - len(strings.TrimLeft(line, " "))
	cont := strings.Repeat(" ", min(indent+tabWidth, width/2))
	var out []string
	for {
		r := []rune(line)
		if len(r) <= width {
			return append(out, line)
		}
		cut := width
		for i := width; i > len(cont)+1; i-- {
			if r[i] == ' ' && strings.TrimSpace(string(r[:i])) != "" {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimRight(string(r[:cut]), " "))
		line = cont + strings.TrimLeft(string(r[cut:]), " ")
	}
}

//go:embed table.html.tmpl
var tableTemplateText string

// tableTemplate renders a Table's HTML.
var tableTemplate = template.Must(template.New("table").Parse(tableTemplateText))

// htmlRow is a row of the table as the template shows it.
type htmlRow struct {
	Gap, Outside bool
	Label        string
	Indent       string // the source line's indentation, as no-break spaces
	Code         string // the source line after its indentation
	Cells        []htmlCell
	Bar          []barSegment
	BarTitle     string
	Markers      string
	Decisions    string // the compiler's decisions in full, for hovering
}

type htmlCell struct{ Text, Title string }

// htmlHead is a header cell.
type htmlHead struct{ Top, Bottom string }

// HTML renders the table as an HTML fragment that reads the same where
// a notebook is shown through a sanitizer (an untrusted notebook in
// Jupyter, nbconvert's sanitized export), which strips inline styles and
// scripts: its structure carries what matters. The source is <code>
// (monospace) with its indentation as no-break spaces, left-aligned by a
// <div align="left">; figures are in table cells; the bars are text
// blocks coloured with <font color>. Inline styles only refine it where
// they survive (spacing, a hanging indent, the theme's colours).
func (t *Table) HTML() string {
	cols := t.columns()
	data := struct {
		Title, Memory, SetUp string
		Heads                []htmlHead
		BarHead              string
		Compiler             bool
		Rows                 []htmlRow
		Notes                []string
		Legend               []barSegment
		GapSpan              int // the columns after the first
		SelfTotal            string
	}{Title: t.Title(), Memory: t.MemoryLine(), SetUp: t.SetUpLine(), BarHead: "CPU (self)", Compiler: t.hasMarkers(),
		GapSpan: len(cols) + 2, SelfTotal: selfTotalLegend}
	if !t.HasCPU {
		data.BarHead = "Memory (self)"
	} else {
		for c := range Category(3) {
			data.Legend = append(data.Legend, barSegment{eighths[8], catColor[c], c.String()})
		}
	}
	for _, c := range cols {
		data.Heads = append(data.Heads, htmlHead{c.head[0], c.head[1]})
	}
	var used string
	for _, r := range t.Rows {
		src := strings.ReplaceAll(r.Source, "\t", strings.Repeat(" ", tabWidth))
		code := strings.TrimLeft(src, " ")
		hr := htmlRow{Gap: r.Gap, Outside: r.Outside, Label: r.Label, Code: code,
			Indent: strings.Repeat("\u00a0", len(src)-len(code)), Bar: t.bar(r.Stats)}
		var titles []string
		for _, s := range hr.Bar {
			titles = append(titles, s.Title)
		}
		hr.BarTitle = strings.Join(titles, ", ")
		for _, c := range cols {
			// No-break spaces keep a figure and its unit together where
			// a notebook's style sheet overrides nowrap.
			cell := htmlCell{Text: strings.ReplaceAll(c.val(r), " ", "\u00a0")}
			if c.title != nil && cell.Text != "" {
				cell.Title = c.title(r)
			}
			hr.Cells = append(hr.Cells, cell)
		}
		hr.Markers, _ = t.decisions(r)
		if hr.Markers != "" {
			hr.Decisions = strings.Join(t.Decisions.Explained(r.Key), "\n")
		}
		used += hr.Markers
		data.Rows = append(data.Rows, hr)
	}
	if data.Compiler {
		data.GapSpan++
	}
	if used != "" {
		data.Notes = append(data.Notes, "Compiler: "+Legend(used)+" (hover over a marker for the compiler's words).")
	}
	if t.Decisions != nil && t.Decisions.Note != "" {
		data.Notes = append(data.Notes, "Compiler's decisions: "+t.Decisions.Note+".")
	}
	var b strings.Builder
	if err := tableTemplate.Execute(&b, data); err != nil {
		// The template is fixed and its data plain; this cannot happen
		// short of a bug, which the golden test catches.
		return template.HTMLEscapeString(err.Error())
	}
	return b.String()
}
