//go:build !unix

package harness

import "time"

// processTimes returns zero where the process's CPU time cannot be read.
func processTimes() (user, sys time.Duration) { return 0, 0 }
