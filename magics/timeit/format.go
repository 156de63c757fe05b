package timeit

import (
	"fmt"
	"strconv"

	"github.com/perfnb/perfnb/magics"
)

// Line is IPython's result line: "29.9 ns ± 0.643 ns per loop (mean ± std.
// dev. of 7 runs, 10,000,000 loops each)".
func (r *Result) Line() string {
	return fmt.Sprintf("%s \u00b1 %s per loop (mean \u00b1 std. dev. of %s, %s each)",
		magics.FormatTime(r.Average, r.Precision), magics.FormatTime(r.Stdev, r.Precision),
		magics.Plural(strconv.Itoa(r.Repeat), "run"), magics.Plural(magics.Thousands(int64(r.Loops)), "loop"))
}

// Warning is IPython's warning when the slowest run took more than four
// times as long as the fastest (and the slowest more than 1 µs per loop);
// "" otherwise.
func (r *Result) Warning() string {
	if r.Worst > 4*r.Best && r.Best > 0 && r.Worst > 1e-6 {
		return fmt.Sprintf("The slowest run took %.2f times longer than the fastest. "+
			"This could mean that an intermediate result is being cached.", r.Worst/r.Best)
	}
	return ""
}

// String is IPython's representation of a TimeitResult:
// "<TimeitResult : 29.9 ns ± 0.643 ns per loop (...)>".
func (r *Result) String() string {
	if r.Label != "" {
		return "<TimeitResult " + r.Label + " : " + r.Line() + ">"
	}
	return "<TimeitResult : " + r.Line() + ">"
}

// Text is the text/plain output for one result: the warning, if any, then
// the line, as IPython prints them; each labelled with the statement when
// the cell holds other code too ("f(x): 29.9 ns ± ...").
func (r *Result) Text() string {
	label := ""
	if r.statement != "" {
		label = r.statement + ": "
	}
	if w := r.Warning(); w != "" {
		return label + w + "\n" + label + r.Line()
	}
	return label + r.Line()
}
