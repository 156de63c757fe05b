// Package sysmem holds what perfnb knows about memory sizes and the
// machine's memory: how a size is written and read (one parser, one
// formatter), what /proc and the cgroup say about the memory there is and
// about a process's resident set, and the default memory limits derived
// from them.
//
// Sizes follow Go's GOMEMLIMIT and the IEC: KiB, MiB, GiB and TiB are
// powers of 1024, KB, MB, GB and TB powers of 1000, and a number without a
// unit is bytes.
package sysmem

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits maps the units ParseSize accepts, in lower case, to bytes. The
// one-letter units K, M, G and T are binary, as in ulimit and GNU tools.
var sizeUnits = map[string]float64{
	"":    1,
	"b":   1,
	"k":   1 << 10,
	"kib": 1 << 10,
	"kb":  1e3,
	"m":   1 << 20,
	"mib": 1 << 20,
	"mb":  1e6,
	"g":   1 << 30,
	"gib": 1 << 30,
	"gb":  1e9,
	"t":   1 << 40,
	"tib": 1 << 40,
	"tb":  1e12,
}

// ParseSize reads a size in bytes such as "512MiB", "2GiB", "1.5G",
// "300MB" or "1048576": a positive number, then an optional unit (B, KiB,
// MiB, GiB, TiB or K, M, G, T in powers of 1024; KB, MB, GB, TB in powers
// of 1000; case-insensitive). A number without a unit is bytes.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	mult, ok := sizeUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f <= 0 {
		return 0, fmt.Errorf("%q is not a size: write it like 512MiB or 2GiB (a number without a unit is bytes)", s)
	}
	bytes := math.Round(f * mult)
	if bytes >= math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large a size", s)
	}
	if bytes < 1 {
		return 0, fmt.Errorf("%q is less than a byte", s)
	}
	return int64(bytes), nil
}

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
