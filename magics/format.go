package magics

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Thousands formats n with commas between groups of three digits, as
// Python's {:,} does: 1,234,567.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	digits := strings.TrimPrefix(s, "-")
	var b strings.Builder
	if len(digits) < len(s) {
		b.WriteByte('-')
	}
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
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

// FormatBytes formats a byte count that may be an average, such as bytes
// per operation: below 10,000 as a count with thousands separators
// ("9,999", see FormatCount), from 10,000 on in KiB, MiB, GiB or TiB with
// three significant digits ("9.77 KiB", "4.89 MiB", "123 MiB"). The
// caller adds the unit "B" to a count where it is not in the header.
func FormatBytes(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) < 10000 {
		return FormatCount(x)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	i := 0
	x /= 1024
	for math.Abs(x) >= 999.5 && i < len(units)-1 {
		x /= 1024
		i++
	}
	var s string
	switch {
	case math.Abs(x) >= 999.5:
		s = Thousands(int64(math.Round(x))) // TiB: no larger unit
	case math.Abs(x) >= 99.95:
		s = strconv.FormatFloat(x, 'f', 0, 64)
	case math.Abs(x) >= 9.995:
		s = strconv.FormatFloat(x, 'f', 1, 64)
	case math.Abs(x) >= 0.9995:
		s = strconv.FormatFloat(x, 'f', 2, 64)
	default:
		s = strconv.FormatFloat(x, 'f', 3, 64) // 1000 to 1023 of the smaller unit
	}
	return fmt.Sprintf("%s %s", s, units[i])
}

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
