package timeit

import (
	"fmt"
	"html"
	"math"
	"strings"
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

func formatCount(x float64) string {
	if x == float64(int64(x)) {
		return thousands(int(x))
	}
	return fmt.Sprintf("%.3g", x)
}

// html is the table for one result.
func (r *Result) html() string {
	var b strings.Builder
	b.WriteString(tableStyle)
	b.WriteString(`<table class="perfnb-timeit">`)
	fmt.Fprintf(&b, "<caption>%s</caption>", esc(r.text()))
	rows := [][2]string{
		{"mean ± std. dev.", FormatTime(r.Average, r.Precision) + " ± " + FormatTime(r.Stdev, r.Precision)},
		{"median [95% CI]", r.medianCI()},
		{"min", FormatTime(r.Best, r.Precision)},
		{"max", FormatTime(r.Worst, r.Precision)},
		{"runs", thousands(r.Repeat)},
		{"loops per run", thousands(r.Loops)},
		{"B/op", formatCount(r.BytesPerOp)},
		{"allocs/op", formatCount(r.AllocsPerOp)},
		{"build time", fmt.Sprintf("%.2f s", r.CompileTime)},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>", esc(row[0]), esc(row[1]))
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
		fmt.Fprintf(&b, "<tr><td><b>%s</b></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s × %d</td><td>%s</td><td>%s</td></tr>",
			esc(v.Label), esc(FormatTime(v.Average, v.Precision)+" ± "+FormatTime(v.Stdev, v.Precision)),
			esc(v.medianCI()), esc(ratioCell), esc(sig), thousands(v.Loops), v.Repeat,
			esc(formatCount(v.BytesPerOp)), esc(formatCount(v.AllocsPerOp)))
	}
	fmt.Fprintf(&b, `<tr><td colspan="8">runs interleaved; significance: Mann-Whitney U test, alpha 0.05 (benchstat's); build time %.2f s</td></tr>`, fastest.CompileTime)
	b.WriteString("</table>")
	return b.String()
}
