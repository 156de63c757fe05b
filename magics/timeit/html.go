package timeit

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// tableTemplates render the two outputs; html/template escapes every
// figure and label. IPython's lines come first, as IPython prints them,
// in a <pre>; then a table of the figures. Their structure carries what
// matters, so that they read the same where a notebook is shown through a
// sanitizer (which strips inline styles and <style>): names left-aligned
// by <div align="left">, figures in nowrap cells; inline styles only
// refine spacing.
var tableTemplates = template.Must(template.New("timeit").Funcs(template.FuncMap{"nbsp": nbsp}).Parse(
	`{{define "cell"}}<td nowrap="nowrap" style="padding:2px 10px"{{with .Title}} title="{{.}}"{{end}}>{{nbsp .Text}}</td>{{end}}` +
		`{{define "lines"}}<pre style="margin:0 0 6px 0">{{.}}</pre>{{end}}` +
		`{{define "footer"}}<div><small>{{.}}</small></div>{{end}}` +
		`{{define "result"}}<div class="perfnb-timeit">{{template "lines" .Lines}}` +
		`<table class="perfnb-timeit" style="border-collapse:collapse"><tbody>` +
		`{{range .Rows}}<tr><th nowrap="nowrap" style="padding:2px 10px"><div align="left">{{.Name}}</div></th>{{template "cell" .Value}}</tr>{{end}}` +
		`</tbody></table>{{template "footer" .Footer}}</div>{{end}}` +
		`{{define "comparison"}}<div class="perfnb-timeit">{{template "lines" .Lines}}` +
		`<table class="perfnb-timeit" style="border-collapse:collapse"><thead><tr>` +
		`{{range $i, $h := .Head}}<th style="padding:2px 10px">{{if eq $i 0}}<div align="left">{{$h}}</div>{{else}}{{$h}}{{end}}</th>{{end}}</tr></thead><tbody>` +
		`{{range .Rows}}<tr><td nowrap="nowrap" style="padding:2px 10px"><div align="left"><b>{{.Label}}</b></div></td>` +
		`{{range .Cells}}{{template "cell" .}}{{end}}</tr>{{end}}</tbody></table>` +
		`<div><small>{{.Note}}</small></div>{{template "footer" .Footer}}</div>{{end}}`))

// nbsp joins the words of a figure with no-break spaces, which keep a
// figure and its unit together where a notebook's style sheet overrides
// nowrap (Jupyter's does).
func nbsp(s string) string { return strings.ReplaceAll(s, " ", "\u00a0") }

// tableCell is one table cell: its text and, for a rounded figure, the
// exact one as its title.
type tableCell struct{ Text, Title string }

// clockName says in words what the times measure.
func clockName(clock string) string {
	if clock == clockCPU {
		return "CPU time of the process (-c)"
	}
	return "wall-clock time"
}

// render executes one of tableTemplates.
func render(name string, data any) string {
	var b strings.Builder
	if err := tableTemplates.ExecuteTemplate(&b, name, data); err != nil {
		// The templates are fixed and their data are plain values.
		panic(fmt.Sprintf("timeit: rendering the %s table: %v", name, err))
	}
	return b.String()
}

// medianCI formats the median and its confidence interval.
func (r *Result) medianCI() string {
	if math.IsInf(r.MedianLo, 0) || math.IsInf(r.MedianHi, 0) || math.IsNaN(r.MedianLo) || math.IsNaN(r.MedianHi) {
		return magics.FormatTime(r.Median, r.Precision) + " [no interval: 6 or more runs needed]"
	}
	return fmt.Sprintf("%s [%s, %s]", magics.FormatTime(r.Median, r.Precision),
		magics.FormatTime(r.MedianLo, r.Precision), magics.FormatTime(r.MedianHi, r.Precision))
}

// meanStdev formats the mean and standard deviation.
func (r *Result) meanStdev() string {
	return magics.FormatTime(r.Average, r.Precision) + " ± " + magics.FormatTime(r.Stdev, r.Precision)
}

// exact writes x in full (the shortest decimal that reads back as x), with
// thousands separators for its whole part: 5,130,000 or 20,001.571428571428.
func exact(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= 1<<62 {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	out := magics.Thousands(n)
	if x < 0 {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

// bytesCell is the cell of a B/op figure: in bytes with thousands
// separators below 10,000, in KiB, MiB or GiB above (sysmem.FormatBytes),
// and the exact figure in its title.
func bytesCell(x float64) tableCell {
	return tableCell{Text: sysmem.FormatBytes(x), Title: exact(x) + " B/op"}
}

// allocsCell is the cell of an allocs/op figure: a whole number with
// thousands separators, the exact figure in its title.
func allocsCell(x float64) tableCell {
	return tableCell{Text: magics.FormatCount(x), Title: exact(x) + " allocs/op"}
}

func text(s string) tableCell { return tableCell{Text: s} }

// HTML is the text/html output for one result: IPython's lines (Text),
// then a table of the figures and the environment.
func (r *Result) HTML() string {
	type row struct {
		Name  string
		Value tableCell
	}
	return render("result", struct {
		Lines, Footer string
		Rows          []row
	}{
		Lines:  r.Text(),
		Footer: r.Environment.Footer(),
		Rows: []row{
			{"mean ± std. dev.", text(r.meanStdev())},
			{"median [95% CI]", text(r.medianCI())},
			{"min", text(magics.FormatTime(r.Best, r.Precision))},
			{"max", text(magics.FormatTime(r.Worst, r.Precision))},
			{"runs", text(magics.Thousands(int64(r.Repeat)))},
			{"loops per run", text(magics.Thousands(int64(r.Loops)))},
			{"clock", text(clockName(r.Clock))},
			{"B/op", bytesCell(r.BytesPerOp)},
			{"allocs/op", allocsCell(r.AllocsPerOp)},
			{"build time", text(fmt.Sprintf("%.2f s", r.CompileTime))},
		},
	})
}

// HTML is the text/html output of a comparison: IPython's line of each
// variant and the verdicts (Text), then a table of the variants, fastest
// first.
func (c *Comparison) HTML() string {
	type row struct {
		Label string
		Cells []tableCell
	}
	fastest := c.Variants[0]
	var rows []row
	for i, v := range c.Variants {
		ratioText, sig := "fastest", ""
		if i > 0 {
			ratioText, sig = formatRatio(ratio(fastest, v)), verdict(fastest, v)
		}
		rows = append(rows, row{Label: v.Label, Cells: []tableCell{
			text(v.meanStdev()), text(v.medianCI()), text(ratioText), text(sig),
			bytesCell(v.BytesPerOp), allocsCell(v.AllocsPerOp),
		}})
	}
	return render("comparison", struct {
		Head                []string
		Rows                []row
		Lines, Note, Footer string
	}{
		Head:  []string{"variant", "mean ± std. dev.", "median [95% CI]", "vs fastest", "significance", "B/op", "allocs/op"},
		Rows:  rows,
		Lines: c.Text(),
		Note: fmt.Sprintf("%s; runs interleaved; significance: Mann-Whitney U test, alpha 0.05 (benchstat's); build time %.2f s",
			clockName(fastest.Clock), fastest.CompileTime),
		Footer: fastest.Environment.Footer(),
	})
}
