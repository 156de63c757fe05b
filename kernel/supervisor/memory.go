package supervisor

import (
	"time"

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

// memoryLimit returns the kernel's memory limit (limit when set, else
// sysmem.KernelLimitEnv's or the default), which the worker applies
// softly to its own heap (a cell that grows past it is stopped, its state
// kept), and the resident memory past which the supervisor kills the
// worker: the limit and an eighth, plus 64 MiB, so that the soft limit
// acts first. 0, 0 means no limit.
func memoryLimit(limit int64) (soft, hard uint64, err error) {
	if limit == 0 {
		if limit, err = sysmem.DefaultLimit(sysmem.KernelLimitEnv, sysmem.HalfOfTotal); err != nil {
			return 0, 0, err
		}
	}
	if limit < 0 {
		return 0, 0, nil
	}
	return uint64(limit), uint64(limit) + uint64(limit)/8 + 64<<20, nil
}
