package scalene

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// Title is Scalene's title line: In[5]: % of time = 100.00% out of 1.02 s.
func (t *Table) Title() string {
	if !t.HasCPU {
		return fmt.Sprintf("In[%d]: memory profile.", t.Cell)
	}
	return fmt.Sprintf("In[%d]: %% of time = 100.00%% out of %.2f s.", t.Cell, float64(t.Total.CPUSelf())/1e9)
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
		line += fmt.Sprintf("; the runtime, the test harness and package initialisation allocated %s more", sysmem.FormatBytes(float64(t.Outside.AllocBytes)))
	}
	return line + "."
}

// selfTotalLegend explains the two kinds of figures.
const selfTotalLegend = "Self: the line's own work, with the library and runtime code it calls. " +
	"Total: with the cell functions it calls as well (pprof's flat and cum)."

// barValue is the share the bar shows: self CPU time when there is any,
// self allocated bytes otherwise.
func (t *Table) barValue(s LineStats) float64 {
	if t.HasCPU {
		return percent(s.CPUSelf(), t.Total.CPUSelf())
	}
	return percent(s.AllocBytes, t.Total.AllocBytes)
}

const barWidth = 20

func textBar(p float64) string {
	n := int(math.Round(p / 100 * barWidth))
	return strings.Repeat("▇", n) + strings.Repeat(" ", barWidth-n)
}

// column is a figure column of the table, in both renderings.
type column struct {
	head1, head2 string
	width        int
	val          func(r Row) string
	title        func(r Row) string // a hover text in HTML; nil for none
}

// columns are the table's figure columns: self time by category and
// total time when there is a CPU profile, self and total allocations
// when there is a memory profile.
func (t *Table) columns() []column {
	var cols []column
	if t.HasCPU {
		tot := t.Total.CPUSelf()
		for c := range Category(3) {
			cols = append(cols, column{"Self", c.String(), max(4, len(c.String())),
				func(r Row) string { return share(r.Stats.CPU[c], tot) }, nil})
		}
		cols = append(cols, column{"Total", "time", 5, func(r Row) string { return share(r.Stats.CumCPU, tot) }, nil})
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
			column{"Alloc", "bytes", 10, func(r Row) string { return bytes(r.Stats.AllocBytes) },
				func(r Row) string { return exact(r.Stats.AllocBytes) }},
			column{"Alloc", "objects", 9, func(r Row) string { return perExec(r.Stats.AllocObjects, t.Executions) }, nil},
			column{"Total", "alloc", 10, func(r Row) string { return bytes(r.Stats.CumBytes) },
				func(r Row) string { return exact(r.Stats.CumBytes) }})
	}
	return cols
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

// Text renders the table as text/plain.
func (t *Table) Text() string {
	labelW := len("Line")
	markW := len("Compiler")
	for _, r := range t.Rows {
		labelW = max(labelW, len(r.Label))
		m, _ := t.decisions(r)
		markW = max(markW, len(m))
	}
	cols := t.columns()
	var b strings.Builder
	b.WriteString(t.Title() + "\n")
	if m := t.MemoryLine(); m != "" {
		b.WriteString(m + "\n")
	}
	b.WriteString("\n")
	barHead := "CPU (self)"
	if !t.HasCPU {
		barHead = "memory (self)"
	}
	compiler := func(s string) {
		if t.Decisions != nil {
			fmt.Fprintf(&b, " %-*s │", markW, s)
		}
	}
	head := func(first string, pick func(c column) string, bar, comp, src string) {
		fmt.Fprintf(&b, "%*s │", labelW, first)
		for _, c := range cols {
			fmt.Fprintf(&b, " %*s │", c.width, pick(c))
		}
		fmt.Fprintf(&b, "%-*s│", barWidth, bar)
		compiler(comp)
		fmt.Fprintf(&b, " %s\n", src)
	}
	head("", func(c column) string { return c.head1 }, "", "", "")
	head("Line", func(c column) string { return c.head2 }, barHead, "Compiler", "Source")
	b.WriteString(strings.Repeat("─", labelW) + "─┼")
	for _, c := range cols {
		b.WriteString(strings.Repeat("─", c.width+2) + "┼")
	}
	b.WriteString(strings.Repeat("─", barWidth) + "┼")
	if t.Decisions != nil {
		b.WriteString(strings.Repeat("─", markW+2) + "┼")
	}
	b.WriteString(strings.Repeat("─", 30) + "\n")
	for _, r := range t.Rows {
		if r.Gap {
			fmt.Fprintf(&b, "%*s │\n", labelW, "...")
			continue
		}
		fmt.Fprintf(&b, "%*s │", labelW, r.Label)
		for _, c := range cols {
			fmt.Fprintf(&b, " %*s │", c.width, c.val(r))
		}
		b.WriteString(textBar(t.barValue(r.Stats)) + "│")
		m, _ := t.decisions(r)
		compiler(m)
		fmt.Fprintf(&b, " %s\n", strings.ReplaceAll(r.Source, "\t", "    "))
	}
	b.WriteString("\n")
	for _, n := range t.Notes() {
		b.WriteString(n + "\n")
	}
	return b.String()
}

// Colours of the CPU categories, the same in the table's bars and the
// static flame graph; they read on light and dark backgrounds.
var catColor = [3]string{CatGo: "#3b82f6", CatRuntime: "#f59e0b", CatSystem: "#ef4444"}

const memColor = "#a855f7"

//go:embed table.html.tmpl
var tableTemplateText string

// tableTemplate renders a Table's HTML: inline styles only, so that it
// survives notebook sanitizers and reads in light and dark themes (text
// colour is inherited; fills are mid-tone).
var tableTemplate = template.Must(template.New("table").Parse(tableTemplateText))

// htmlRow is a row of the table as the template shows it.
type htmlRow struct {
	Gap, Outside, Odd bool
	Label, Source     string
	Cells             []htmlCell
	Bar               []barSegment
	Markers           string
	Decisions         string // the compiler's decisions in full, for hovering
}

type htmlCell struct{ Text, Title string }

type barSegment struct {
	Title, Color string
	Width        float64 // percent
}

// bar returns the segments of a row's bar: self CPU time by category, or
// self allocated bytes.
func (t *Table) bar(s LineStats) []barSegment {
	if !t.HasCPU {
		if p := percent(s.AllocBytes, t.Total.AllocBytes); p > 0 {
			return []barSegment{{fmt.Sprintf("%.1f%% of bytes", p), memColor, p}}
		}
		return nil
	}
	var segs []barSegment
	for c := range Category(3) {
		if p := percent(s.CPU[c], t.Total.CPUSelf()); p > 0 {
			segs = append(segs, barSegment{fmt.Sprintf("%s %.1f%%", c, p), catColor[c], p})
		}
	}
	return segs
}

// HTML renders the table as an HTML fragment.
func (t *Table) HTML() string {
	cols := t.columns()
	data := struct {
		Title, Memory  string
		Head1, Head2   []string
		BarHead        string
		Compiler       bool
		Rows           []htmlRow
		Notes          []string
		Span           int
		Legend, Remark string
	}{Title: t.Title(), Memory: t.MemoryLine(), BarHead: "CPU (self)", Compiler: t.Decisions != nil,
		Span: len(cols) + 3, Legend: selfTotalLegend}
	if !t.HasCPU {
		data.BarHead = "Memory (self)"
	}
	for _, c := range cols {
		data.Head1 = append(data.Head1, c.head1)
		data.Head2 = append(data.Head2, c.head2)
	}
	var used string
	for i, r := range t.Rows {
		hr := htmlRow{Gap: r.Gap, Outside: r.Outside, Odd: i%2 == 1, Label: r.Label, Source: r.Source, Bar: t.bar(r.Stats)}
		for _, c := range cols {
			cell := htmlCell{Text: c.val(r)}
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
		data.Span++
		if used != "" {
			data.Notes = append(data.Notes, "Compiler: "+Legend(used)+" (hover over a marker for the compiler's words).")
		}
		if t.Decisions.Note != "" {
			data.Notes = append(data.Notes, "Compiler's decisions: "+t.Decisions.Note+".")
		}
	}
	var b strings.Builder
	if err := tableTemplate.Execute(&b, data); err != nil {
		// The template is fixed and its data plain; this cannot happen
		// short of a bug, which the golden test catches.
		return template.HTMLEscapeString(err.Error())
	}
	return b.String()
}
