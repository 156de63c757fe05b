// Package bytesize reads sizes written for people: "512MiB", "2GiB",
// "300MB", "1048576". It is the one parser of sizes, for the kernel
// process's limits and the interpreter's alike, and imports only the
// standard library.
//
// Sizes follow Go's GOMEMLIMIT and the IEC: KiB, MiB, GiB and TiB are
// powers of 1024, KB, MB, GB and TB powers of 1000, and a number without a
// unit is bytes.
package bytesize

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// units maps the units Parse accepts, in lower case, to bytes. The
// one-letter units K, M, G and T are binary, as in ulimit and GNU tools.
var units = map[string]float64{
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

// Parse reads a size in bytes such as "512MiB", "2GiB", "1.5G",
// "300MB" or "1048576": a positive number, then an optional unit (B, KiB,
// MiB, GiB, TiB or K, M, G, T in powers of 1024; KB, MB, GB, TB in powers
// of 1000; case-insensitive). A number without a unit is bytes.
func Parse(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	mult, ok := units[unit]
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
