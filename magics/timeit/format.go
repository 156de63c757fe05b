package timeit

import (
	"fmt"
	"math"
	"strings"

	"github.com/perfnb/perfnb/magics"
)

// FormatTime formats a duration in seconds as IPython's %timeit does: from
// 60 s on as "1min 5s" or "1h 2min 5s"; below, in s, ms, µs or ns (the unit
// chosen by the order of magnitude) with precision significant digits
// (%g). IPython's quirks are kept: 9.999e-4 s gives "1e+03 µs".
func FormatTime(seconds float64, precision int) string {
	if math.IsInf(seconds, 0) || math.IsNaN(seconds) {
		return fmt.Sprintf("%g s", seconds)
	}
	if seconds >= 60 {
		parts := []struct {
			suffix string
			length float64
		}{{"d", 86400}, {"h", 3600}, {"min", 60}, {"s", 1}}
		var out []string
		left := seconds
		for _, p := range parts {
			if v := math.Trunc(left / p.length); v > 0 {
				left = math.Mod(left, p.length)
				out = append(out, fmt.Sprintf("%d%s", int64(v), p.suffix))
			}
			if left < 1 {
				break
			}
		}
		return strings.Join(out, " ")
	}
	units := [...]string{"s", "ms", "\u03bcs", "ns"}
	scaling := [...]float64{1, 1e3, 1e6, 1e9}
	order := 3
	if seconds > 0 {
		// Python: min(-int(math.floor(math.log10(t)) // 3), 3), where //
		// rounds towards minus infinity.
		order = min(-int(math.Floor(math.Floor(math.Log10(seconds))/3)), 3)
	}
	return fmt.Sprintf("%.*g %s", precision, seconds*scaling[order], units[order])
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Line is IPython's result line: "29.9 ns ± 0.643 ns per loop (mean ± std.
// dev. of 7 runs, 10,000,000 loops each)".
func (r *Result) Line() string {
	return fmt.Sprintf("%s \u00b1 %s per loop (mean \u00b1 std. dev. of %d run%s, %s loop%s each)",
		FormatTime(r.Average, r.Precision), FormatTime(r.Stdev, r.Precision),
		r.Repeat, plural(r.Repeat), magics.Thousands(int64(r.Loops)), plural(r.Loops))
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

// text is the text/plain output for one result: the warning, if any, then
// the line.
func (r *Result) text() string {
	if w := r.Warning(); w != "" {
		return w + "\n" + r.Line()
	}
	return r.Line()
}
