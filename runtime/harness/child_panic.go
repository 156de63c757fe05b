package harness

import (
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// A benchmark body that panics ends the process, but not at once:
// testing's own deferred call, which runs while the panic unwinds, lets
// the benchmark's runner go on, and on a busy machine the process could
// end with status 0 before the panic is printed (seen in CI: a
// panicking %time body reported "no timing"). The generated program
// marks each body's start (Body) and normal end (Returned), and its
// TestMain (Main) gives a body that ended otherwise the time to crash.

// returned and abnormal say whether the running body returned, and
// whether a body ended neither by returning nor by testing's FailNow or
// SkipNow.
var returned, abnormal atomic.Bool

// crashWait is how long Main waits, after a body ended abnormally, for
// its panic to end the process.
const crashWait = 2 * time.Second

// Body marks the start of a benchmark body; the generated benchmark
// registers what it returns with b.Cleanup, which testing runs however
// the body ends.
func Body(b *testing.B) func() {
	returned.Store(false)
	return func() {
		if !returned.Load() && !b.Failed() && !b.Skipped() {
			abnormal.Store(true)
		}
	}
}

// Returned marks the normal end of a benchmark body.
func Returned() { returned.Store(true) }

// Main is the generated program's TestMain: it runs m, then, when a body
// ended abnormally (a panic on its way to end the process), waits for
// the crash rather than exit first with m's status.
func Main(m *testing.M) {
	code := m.Run()
	if abnormal.Load() {
		time.Sleep(crashWait)
	}
	os.Exit(code)
}
