package supervisor

import (
	"time"

	"github.com/perfnb/perfnb/runtime/interp"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// memoryPoll is how often the resident memory of the worker is read.
const memoryPoll = 20 * time.Millisecond

// watchMemory kills w when its resident memory passes limit.
func watchMemory(w *worker, limit uint64) {
	pid := w.cmd.Process.Pid
	t := time.NewTicker(memoryPoll)
	defer t.Stop()
	for {
		select {
		case <-w.dead:
			return
		case <-t.C:
		}
		p, err := sysmem.ReadProcess(pid)
		if err != nil {
			return // not Linux, or gone
		}
		if rss := uint64(max(p.RSS, 0)); rss > limit {
			w.memKill.Store(rss)
			w.kill()
			return
		}
	}
}

// memoryLimit returns the resident-memory limit of the worker, 0 for none:
// the kernel's memory limit (limit when set, else interp.MemoryLimitEnv's
// or the default), which the worker applies softly to its own heap (a
// cell that grows past it is stopped, its state kept), with a margin, so
// that the soft limit acts first.
func memoryLimit(limit int64) (uint64, error) {
	if limit == 0 {
		var err error
		if limit, err = sysmem.DefaultLimit(interp.MemoryLimitEnv, sysmem.HalfOfTotal); err != nil {
			return 0, err
		}
	}
	if limit < 0 {
		return 0, nil
	}
	return uint64(limit) + uint64(limit)/8 + 64<<20, nil
}
