package compare

import (
	"fmt"
	"math"
	"strings"

	"github.com/perfnb/perfnb/magics/record"
)

// Floors: the least change of a memory figure that the measurement
// resolves, measured on this kind of machine with %memit, %time and
// %timeit of a body that allocates nothing (docs/compare.md).
const (
	// rssFloor is for resident memory (peak-RSS-B, increment-RSS-B): RSS
	// moves by pages, and by what the runtime and the sampler touch on
	// their own; a body that allocates nothing showed increments of 0 to
	// 104 KiB and peaks 330 KiB apart.
	rssFloor = 1 << 20
	// allocBytesFloor and allocsFloor are for the heap allocations of one
	// run of the body (B/op and allocs/op times the iterations): the
	// harness's and the runtime's own allocations during a run, which
	// showed 1 to 7 KiB in 14 to 28 objects.
	allocBytesFloor = 16 << 10
	allocsFloor     = 32
	// cpuSplitFloor is for the split of CPU time into user and system
	// time (user-sec/op, sys-sec/op), which the kernel makes by sampling
	// at its clock tick (1 to 10 ms); their sum, cpu-sec/op, is exact.
	cpuSplitFloor = 0.010
)

// isTime reports whether unit is a time per operation, a figure that the
// machine's load moves.
func isTime(unit string) bool {
	return strings.HasSuffix(unit, "sec/op") || unit == "ns/op"
}

// floor is the least change of a figure in unit that the measurement
// resolves, for results whose values are averages over iterations
// loops: 0 for times (the relative threshold is theirs), except the
// user and system parts of CPU time.
func floor(unit string, iterations int) float64 {
	n := float64(max(iterations, 1))
	switch {
	case unit == "B/op":
		return allocBytesFloor / n
	case unit == "allocs/op":
		return allocsFloor / n
	case strings.HasSuffix(unit, "-B"):
		return rssFloor
	case unit == "user-sec/op" || unit == "sys-sec/op":
		return cpuSplitFloor / n
	}
	return 0
}

// timingReasons says why timings made in the two environments cannot be
// compared: a difference that changes the figures (record.Differences:
// Go version, platform, CPU, GOMAXPROCS), a machine busy beside the
// measurement (a load average of at least its number of CPUs), or loads
// that differ by a quarter of the CPUs (at least one).
func timingReasons(old, new record.Environment) []string {
	why := record.Differences(old, new)
	for _, side := range []struct {
		name string
		e    record.Environment
	}{{"old", old}, {"new", new}} {
		if l, ok := load(side.e); ok && side.e.NumCPU > 0 && l >= float64(side.e.NumCPU) {
			why = append(why, fmt.Sprintf("the machine was busy when the %s results were measured (load average %.2f on %d CPUs)", side.name, l, side.e.NumCPU))
		}
	}
	lo, okOld := load(old)
	ln, okNew := load(new)
	if okOld && okNew && math.Abs(ln-lo) >= max(1, float64(max(old.NumCPU, new.NumCPU))/4) {
		why = append(why, fmt.Sprintf("the machine's load differed: load average %.2f (old) vs %.2f (new)", lo, ln))
	}
	return why
}

// load is the load average over a minute when the measurement started.
func load(e record.Environment) (float64, bool) {
	if len(e.LoadAvg) == 0 {
		return 0, false
	}
	return e.LoadAvg[0], true
}
