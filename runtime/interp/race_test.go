//go:build race

package interp

// raceEnabled is set when the tests run under the race detector. yaegi's
// EvalWithContext returns at an interrupt while its own goroutine unwinds
// the interrupted code without synchronising with later evaluations, which
// the detector reports as a race inside yaegi; so do goroutines started by
// interpreted code, which read yaegi's global frame while the next
// evaluation writes it.
const raceEnabled = true
