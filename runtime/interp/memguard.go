package interp

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// memoryPoll is how often the watchdog reads the heap's size.
const memoryPoll = 10 * time.Millisecond

// memGuard stops cells whose heap grows past a limit.
type memGuard struct {
	limit uint64
}

// newMemGuard returns the guard for limit bytes: 0 means the default (the
// environment variable, else half of the memory), a negative limit turns
// the guard off (nil).
func newMemGuard(limit int64) (*memGuard, error) {
	if limit == 0 {
		var err error
		if limit, err = sysmem.DefaultLimit(sysmem.KernelLimitEnv, sysmem.HalfOfTotal); err != nil {
			return nil, err
		}
	}
	if limit < 0 {
		return nil, nil
	}
	// Make the collector work harder near the limit, unless the user
	// chose a soft limit with GOMEMLIMIT.
	if os.Getenv("GOMEMLIMIT") == "" && debug.SetMemoryLimit(-1) == math.MaxInt64 {
		debug.SetMemoryLimit(limit)
	}
	return &memGuard{limit: uint64(limit)}, nil
}

// heapBytes returns the bytes held by heap objects, live or not yet swept.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// liveBytes returns the heap bytes the last garbage collection marked live.
func liveBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// memoryError is the cause given to the context of a cell the watchdog
// stopped.
type memoryError struct {
	limit, heap uint64
}

func (e *memoryError) Error() string {
	return fmt.Sprintf("the cell was stopped: the kernel's heap reached %s, past its memory limit of %s "+
		"(set %s to change it); everything defined before the cell is kept",
		sysmem.FormatBytes(float64(e.heap)), sysmem.FormatBytes(float64(e.limit)), sysmem.KernelLimitEnv)
}

// kernelError is the cell's error.
func (e *memoryError) kernelError() *protocol.Error {
	return protocol.NewError(protocol.MemoryLimitExceeded, e.Error())
}

// watch returns a context derived from ctx that is cancelled, with a
// *memoryError as its cause, when the heap grows past the limit (or, when
// it was already past it as the cell started, by more than an eighth of
// the limit, so that a cell that frees memory can still run). stop ends
// the watch after a last look at the heap, and returns the cell's error
// if the watch stopped it or the heap is past the limit as it ends: one
// call into compiled code can allocate gigabytes and return while the
// watchdog's goroutine cannot run.
func (g *memGuard) watch(ctx context.Context) (wctx context.Context, stop func() *protocol.Error) {
	threshold := max(g.limit, heapBytes()+g.limit/8)
	wctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(memoryPoll)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-wctx.Done():
				return
			case <-t.C:
			}
			if me := g.past(threshold); me != nil {
				cancel(me)
				return
			}
		}
	}()
	var once sync.Once
	var stopped *protocol.Error
	return wctx, func() *protocol.Error {
		once.Do(func() {
			close(done)
			if me := g.past(threshold); me != nil {
				cancel(me)
			}
			stopped = memoryStopped(wctx)
			cancel(nil)
		})
		return stopped
	}
}

// past returns the error of a cell whose heap is past threshold: past it
// by what the last collection found live, or by a quarter, at once, since
// a cell that allocates fresh memory can grow by gigabytes in the time a
// collection takes; otherwise past it after a collection.
func (g *memGuard) past(threshold uint64) *memoryError {
	h := heapBytes()
	if h <= threshold {
		return nil
	}
	if liveBytes() <= threshold && h <= threshold+threshold/4 {
		runtime.GC()
		if h = heapBytes(); h <= threshold {
			return nil
		}
	}
	return &memoryError{limit: g.limit, heap: h}
}

// memoryStopped returns the error of a cell the watchdog stopped, and
// gives the memory the stopped cell no longer holds back to the system.
func memoryStopped(ctx context.Context) *protocol.Error {
	me, ok := context.Cause(ctx).(*memoryError)
	if !ok {
		return nil
	}
	debug.FreeOSMemory()
	return me.kernelError()
}
