package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// MemoryLimitEnv names the environment variable that sets the kernel's
// memory limit for the interpreter process: bytes, or a size with a KiB,
// MiB or GiB suffix, or "off". The interpreter process applies it softly
// to its own heap (a cell that grows past it is stopped, its state kept);
// the supervisor applies it hard to the process's resident memory, with
// a margin, killing the process when it passes.
const MemoryLimitEnv = "PERFNB_KERNEL_MEMORY_LIMIT"

// memoryPoll is how often the resident memory of the worker is read.
const memoryPoll = 20 * time.Millisecond

// watchMemory kills w when its resident memory passes limit.
func watchMemory(w *worker, limit uint64) {
	path := fmt.Sprintf("/proc/%d/statm", w.cmd.Process.Pid)
	page := uint64(os.Getpagesize())
	t := time.NewTicker(memoryPoll)
	defer t.Stop()
	for {
		select {
		case <-w.dead:
			return
		case <-t.C:
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return // not Linux, or gone
		}
		f := bytes.Fields(b)
		if len(f) < 2 {
			return
		}
		pages, err := strconv.ParseUint(string(f[1]), 10, 64)
		if err != nil {
			return
		}
		if rss := pages * page; rss > limit {
			w.memKill.Store(rss)
			w.kill()
			return
		}
	}
}

// memoryLimit returns the resident-memory limit of the worker: limit when
// set, else the environment's, else the default; with a margin over the
// soft limit the worker applies to its own heap, so that the soft one
// acts first. 0 means none.
func memoryLimit(limit int64) (uint64, error) {
	if limit == 0 {
		v := strings.TrimSpace(os.Getenv(MemoryLimitEnv))
		switch {
		case strings.EqualFold(v, "off"):
			return 0, nil
		case v != "":
			n, err := parseBytes(v)
			if err != nil {
				return 0, fmt.Errorf("%s=%q: %w", MemoryLimitEnv, v, err)
			}
			limit = n
		default:
			limit = defaultMemoryLimit()
		}
	}
	if limit < 0 {
		return 0, nil
	}
	return uint64(limit) + uint64(limit)/8 + 64<<20, nil
}
