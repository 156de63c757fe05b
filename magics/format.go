package magics

import (
	"math"
	"strconv"

	"github.com/perfnb/perfnb/runtime/sysmem"
)

// Thousands formats n with commas between groups of three digits, as
// Python's {:,} does: 1,234,567. It is sysmem.Thousands, which sizes use
// too.
func Thousands(n int64) string {
	return sysmem.Thousands(n)
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
