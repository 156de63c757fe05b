package magics

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/perfnb/perfnb/runtime/sysmem"
)

// Thousands formats n with commas between groups of three digits, as
// Python's {:,} does: 1,234,567. It is sysmem.Thousands, which sizes use
// too.
func Thousands(n int64) string {
	return sysmem.Thousands(n)
}

// Plural returns a count and its noun, "1 object", "2,000 objects": n is
// the count as written (by Thousands or FormatCount), word the singular.
func Plural(n, word string) string {
	if n == "1" {
		return n + " " + word
	}
	return n + " " + word + "s"
}

// FormatCount formats a count that may be an average, such as
// allocations per operation: a whole number (or one within 0.05 of it)
// with thousands separators, "2,000"; otherwise with one decimal below
// 1,000 ("0.5") and rounded, with separators, above.
func FormatCount(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return strconv.FormatFloat(x, 'g', -1, 64)
	case math.Abs(x-math.Round(x)) < 0.05 || math.Abs(x) >= 1000:
		if math.Abs(x) >= 1<<62 {
			return strconv.FormatFloat(x, 'g', 3, 64)
		}
		return Thousands(int64(math.Round(x)))
	}
	return strconv.FormatFloat(x, 'f', 1, 64)
}

// FormatTime formats a duration in seconds as IPython's %timeit does: from
// 60 s on as "1min 5s" or "1h 2min 5s"; below, in s, ms, µs or ns (the unit
// chosen by the order of magnitude) with precision significant digits
// (%g). The micro sign is IPython's, U+00B5 (not the Greek mu, U+03BC).
// IPython's quirks are kept: 9.999e-4 s gives "1e+03 µs".
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
	units := [...]string{"s", "ms", "\u00b5s", "ns"}
	scaling := [...]float64{1, 1e3, 1e6, 1e9}
	order := 3
	if seconds > 0 {
		// Python: min(-int(math.floor(math.log10(t)) // 3), 3), where //
		// rounds towards minus infinity.
		order = min(-int(math.Floor(math.Floor(math.Log10(seconds))/3)), 3)
	}
	return fmt.Sprintf("%.*g %s", precision, seconds*scaling[order], units[order])
}
