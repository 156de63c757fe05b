//go:build unix

package harness

import (
	"syscall"
	"time"
)

// processTimes returns the user and system CPU time of the whole process
// (every thread) so far.
func processTimes() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
