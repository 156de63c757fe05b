package scalene

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/cell"
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
func (s Sources) inBody(k cell.Pos) bool {
	return k.Cell == s.Cell && k.Line >= s.BodyLine && k.Line < s.BodyLine+len(s.Body)
}

// decl returns the index of the stored declaration holding line k.
func (s Sources) decl(k cell.Pos) (int, bool) {
	for i, d := range s.Decls {
		if d.Cell == k.Cell && k.Line >= d.Line && k.Line < d.Line+len(splitLines(d.Source)) {
			return i, true
		}
	}
	return 0, false
}

// Text returns the source text of line k, if known.
func (s Sources) Text(k cell.Pos) string {
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
	Key     cell.Pos
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
	// Decisions are the compiler's decisions on cell lines, shown beside
	// them; nil when the build did not report them.
	Decisions *Decisions
	Reduced   bool // hide decisions on lines without samples
	// SetUp is what the profiles held of perfnb's own set-up in the
	// child, left out of them (see profiles.Split).
	SetUp SetUp
}

// SetUp is the size of perfnb's set-up in the child's profiles.
type SetUp struct {
	CPU   int64 // nanoseconds
	Bytes int64 // allocated
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
	t := &Table{Cell: src.Cell, HasCPU: hasCPU, HasMem: hasMem, Executions: max(executions, 1), Total: att.Total,
		Outside: att.Outside, Reduced: opts.Reduced}
	stats := func(k cell.Pos) LineStats {
		if s := att.Lines[k]; s != nil {
			return *s
		}
		return LineStats{}
	}
	significant := func(s LineStats) bool {
		if hasCPU && percent(max(s.CPUSelf(), s.CumCPU), att.Total.CPUSelf()) >= opts.Threshold {
			return true
		}
		return hasMem && s.CumBytes > 0 && percent(max(s.AllocBytes, s.CumBytes), att.Total.AllocBytes) >= opts.Threshold
	}
	var keys []cell.Pos
	for i := range src.Body {
		keys = append(keys, cell.Pos{Cell: src.Cell, Line: src.BodyLine + i})
	}
	// Earlier cells: whole declarations that were touched, in cell order.
	// A line of no declaration and not of the body is not a real line
	// of its cell: inlined code whose frame the profile lost (see
	// profiles.RestoreInlined, which restores those it can).
	var touched []int
	var unplaced LineStats
	for k, s := range att.Lines {
		if src.inBody(k) {
			continue
		}
		if i, ok := src.decl(k); ok {
			if !slices.Contains(touched, i) {
				touched = append(touched, i)
			}
		} else {
			unplaced.add(s)
		}
	}
	slices.SortFunc(touched, func(a, b int) int {
		da, db := src.Decls[a], src.Decls[b]
		return cmp.Or(cmp.Compare(da.Cell, db.Cell), cmp.Compare(da.Line, db.Line))
	})
	for _, i := range touched {
		d := src.Decls[i]
		for j := range splitLines(d.Source) {
			keys = append(keys, cell.Pos{Cell: d.Cell, Line: d.Line + j})
		}
	}

	var prev *cell.Pos
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
	for _, o := range []struct {
		stats LineStats
		text  string
	}{{unplaced, unplacedText}, {att.Outside, outsideText}} {
		if o.stats != (LineStats{}) && (!opts.Reduced || significant(o.stats)) {
			if len(t.Rows) > 0 {
				t.Rows = append(t.Rows, Row{Gap: true})
			}
			t.Rows = append(t.Rows, Row{Outside: true, Source: o.text, Stats: o.stats})
		}
	}
	return t
}

// The rows of what no line of a cell accounts for.
const (
	outsideText  = "(Go runtime, not attributable to a line)"
	unplacedText = "(inlined code whose line the profile does not give)"
)

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
