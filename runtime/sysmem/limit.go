package sysmem

import (
	"fmt"
	"os"
	"strings"

	"github.com/perfnb/perfnb/internal/bytesize"
)

// KernelLimitEnv names the environment variable that sets the kernel's
// own memory limit for interpreted cells, a size as bytesize.Parse reads
// it ("8GiB"), or "off". Without it the limit is half of the machine's
// memory (or of the cgroup's limit, when that is lower).
//
// The limit guards the interpreter process: it is the soft limit of Go's
// garbage collector there (debug.SetMemoryLimit, unless GOMEMLIMIT is
// set), a watchdog stops a running cell whose heap grows past it with a
// MemoryLimitExceeded error, and the supervisor in the kernel process
// kills the interpreter process when its resident memory passes it by an
// eighth. It does not apply to the magics' child processes (see
// runtime/native's PERFNB_MEMORY_LIMIT), nor to goroutines that keep
// allocating after their cell has ended.
const KernelLimitEnv = "PERFNB_KERNEL_MEMORY_LIMIT"

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
// variable env sets (a size for bytesize.Parse, or "off", which gives Off), or
// when env is unset or empty, half of the memory basis names (FallbackLimit
// when that cannot be read). A value that is not a size is an error that
// names the variable.
func DefaultLimit(env string, basis Basis) (int64, error) {
	if v := strings.TrimSpace(os.Getenv(env)); v != "" {
		if strings.EqualFold(v, "off") {
			return Off, nil
		}
		n, err := bytesize.Parse(v)
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
