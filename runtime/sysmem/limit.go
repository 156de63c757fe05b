package sysmem

import (
	"fmt"
	"os"
	"strings"
)

// Off is the limit DefaultLimit returns when the environment variable
// turns the limit off.
const Off = -1

// FallbackLimit is the default limit when the machine's memory cannot be
// read.
const FallbackLimit = 4 << 30

// Basis says what a default limit is half of.
type Basis int

const (
	// HalfOfTotal is half of the machine's (or the cgroup's) memory: the
	// kernel's own limit, which must hold whatever the cells keep.
	HalfOfTotal Basis = iota
	// HalfOfAvailable is half of the memory available when the limit is
	// taken: the limit of a measured child process.
	HalfOfAvailable
)

// DefaultLimit returns the memory limit, in bytes, that the environment
// variable env sets (a size for ParseSize, or "off", which gives Off), or
// when env is unset or empty, half of the memory basis names (FallbackLimit
// when that cannot be read). A value that is not a size is an error that
// names the variable.
func DefaultLimit(env string, basis Basis) (int64, error) {
	if v := strings.TrimSpace(os.Getenv(env)); v != "" {
		if strings.EqualFold(v, "off") {
			return Off, nil
		}
		n, err := ParseSize(v)
		if err != nil {
			return 0, fmt.Errorf("the environment variable %s=%q is not a memory limit: %w (or write off)", env, v, err)
		}
		return n, nil
	}
	return halfOf(ReadMemory(), basis), nil
}

// halfOf is half of the memory basis names, or FallbackLimit.
func halfOf(m Memory, basis Basis) int64 {
	n := m.Total
	if basis == HalfOfAvailable {
		n = m.Available
	}
	if n <= 0 {
		return FallbackLimit
	}
	return n / 2
}
