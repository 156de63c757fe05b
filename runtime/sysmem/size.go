// Package sysmem holds what perfnb knows about memory sizes and the
// machine's memory: how a size is written (the one formatter; sizes are
// read by internal/bytesize, which the kernel process's transport uses
// too), what /proc and the cgroup say about the memory there is and about
// a process's resident set, and the default memory limits derived from
// them.
package sysmem

import (
	"math"
	"strconv"
	"strings"
)

// FormatBytes formats a byte count that may be an average, such as bytes
// per operation, with its unit: below 10,000 in bytes with thousands
// separators ("512 B", "9,999 B", "40.5 B" for a fractional average),
// from 10,000 on in KiB, MiB, GiB or TiB with three significant digits
// ("9.77 KiB", "4.89 MiB", "123 MiB", "1,234 TiB").
func FormatBytes(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64) + " B"
	}
	if math.Abs(x) < 10000 {
		if math.Abs(x-math.Round(x)) < 0.05 {
			return Thousands(int64(math.Round(x))) + " B"
		}
		return strconv.FormatFloat(x, 'f', 1, 64) + " B"
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
	return s + " " + units[i]
}

// Thousands writes n with commas between groups of three digits, as
// Python's {:,} does: 1,234,567.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	digits := strings.TrimPrefix(s, "-")
	var b strings.Builder
	b.WriteString(s[:len(s)-len(digits)])
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
