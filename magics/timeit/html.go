package timeit

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

const tableStyle = `<style>
table.perfnb-timeit { border-collapse: collapse; font-size: 0.9em; }
table.perfnb-timeit th, table.perfnb-timeit td { padding: 2px 10px; text-align: right; border-bottom: 1px solid #ddd; }
table.perfnb-timeit th:first-child, table.perfnb-timeit td:first-child { text-align: left; }
table.perfnb-timeit caption { text-align: left; font-family: monospace; padding-bottom: 4px; }
</style>`

func esc(s string) string { return html.EscapeString(s) }

// medianCI formats the median and its confidence interval.
func (r *Result) medianCI() string {
	if math.IsInf(r.MedianLo, 0) || math.IsInf(r.MedianHi, 0) || math.IsNaN(r.MedianLo) || math.IsNaN(r.MedianHi) {
		return FormatTime(r.Median, r.Precision) + " [no interval: 6 or more runs needed]"
	}
	return fmt.Sprintf("%s [%s, %s]", FormatTime(r.Median, r.Precision),
		FormatTime(r.MedianLo, r.Precision), FormatTime(r.MedianHi, r.Precision))
}

// exact writes x in full, with thousands separators for its whole part:
// 5,130,000 or 40.5.
func exact(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= 1<<62 {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	whole, frac := math.Modf(x)
	s := magics.Thousands(int64(whole))
	if frac != 0 {
		f := strconv.FormatFloat(math.Abs(frac), 'f', -1, 64)
		if x < 0 && whole == 0 {
			s = "-0"
		}
		s += strings.TrimPrefix(f, "0")
	}
	return s
}

// bytesCell is the table cell of a B/op figure: in bytes with thousands
// separators below 10,000, in KiB, MiB or GiB above (sysmem.FormatBytes),
// and the exact figure in its title.
func bytesCell(x float64) string {
	return fmt.Sprintf(`<td title="%s B/op">%s</td>`, esc(exact(x)), esc(sysmem.FormatBytes(x)))
}

// allocsCell is the table cell of an allocs/op figure: a whole number
// with thousands separators, the exact figure in its title.
func allocsCell(x float64) string {
	return fmt.Sprintf(`<td title="%s allocs/op">%s</td>`, esc(exact(x)), esc(magics.FormatCount(x)))
}

// html is the table for one result.
func (r *Result) html() string {
	var b strings.Builder
	b.WriteString(tableStyle)
	b.WriteString(`<table class="perfnb-timeit">`)
	fmt.Fprintf(&b, "<caption>%s</caption>", esc(r.text()))
	td := func(text string) string { return "<td>" + esc(text) + "</td>" }
	rows := [][2]string{
		{"mean ± std. dev.", td(FormatTime(r.Average, r.Precision) + " ± " + FormatTime(r.Stdev, r.Precision))},
		{"median [95% CI]", td(r.medianCI())},
		{"min", td(FormatTime(r.Best, r.Precision))},
		{"max", td(FormatTime(r.Worst, r.Precision))},
		{"runs", td(magics.Thousands(int64(r.Repeat)))},
		{"loops per run", td(magics.Thousands(int64(r.Loops)))},
		{"B/op", bytesCell(r.BytesPerOp)},
		{"allocs/op", allocsCell(r.AllocsPerOp)},
		{"build time", td(fmt.Sprintf("%.2f s", r.CompileTime))},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "<tr><th>%s</th>%s</tr>", esc(row[0]), row[1])
	}
	b.WriteString("</table>")
	return b.String()
}

// html is the table of a comparison, fastest first.
func (c *Comparison) html() string {
	var b strings.Builder
	b.WriteString(tableStyle)
	b.WriteString(`<table class="perfnb-timeit">`)
	b.WriteString("<tr><th>variant</th><th>mean ± std. dev.</th><th>median [95% CI]</th><th>vs fastest</th>" +
		"<th>significance</th><th>loops × runs</th><th>B/op</th><th>allocs/op</th></tr>")
	fastest := c.Variants[0]
	for i, v := range c.Variants {
		ratioCell, sig := "fastest", ""
		if i > 0 {
			ratioCell, sig = formatRatio(ratio(fastest, v)), verdict(fastest, v)
		}
		fmt.Fprintf(&b, "<tr><td><b>%s</b></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s × %s</td>%s%s</tr>",
			esc(v.Label), esc(FormatTime(v.Average, v.Precision)+" ± "+FormatTime(v.Stdev, v.Precision)),
			esc(v.medianCI()), esc(ratioCell), esc(sig), magics.Thousands(int64(v.Loops)), magics.Thousands(int64(v.Repeat)),
			bytesCell(v.BytesPerOp), allocsCell(v.AllocsPerOp))
	}
	fmt.Fprintf(&b, `<tr><td colspan="8">runs interleaved; significance: Mann-Whitney U test, alpha 0.05 (benchstat's); build time %.2f s</td></tr>`, fastest.CompileTime)
	b.WriteString("</table>")
	return b.String()
}
