package kernel

import (
	"context"
	"os"
	"strconv"
	"time"
)

// parentPoll is how often the kernel checks that the client that started
// it is still there.
const parentPoll = time.Second

// parentGone returns a channel closed when the kernel's parent process
// has gone (the kernel was handed to another parent), if a Jupyter client
// started the kernel: jupyter_client sets JPY_PARENT_PID in the kernel's
// environment. Without it (perfnb run, tests) it returns nil, a channel
// that never fires. A client that dies without a shutdown_request (a
// killed jupyter console or notebook server) would otherwise leave the
// kernel running for ever, as ipykernel's parent poller prevents.
func parentGone(ctx context.Context) <-chan struct{} {
	v := os.Getenv("JPY_PARENT_PID")
	if n, err := strconv.Atoi(v); err != nil || n <= 1 {
		return nil
	}
	return watchParent(ctx, os.Getppid, parentPoll)
}

// watchParent closes the returned channel when getppid's answer changes
// from its first one, checking every interval until ctx is done.
func watchParent(ctx context.Context, getppid func() int, interval time.Duration) <-chan struct{} {
	first := getppid()
	gone := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if getppid() != first {
					close(gone)
					return
				}
			}
		}
	}()
	return gone
}
