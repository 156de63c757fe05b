package interp

import (
	"context"
	"time"
)

// afterFunc replaces time.AfterFunc: the callback runs on a goroutine of
// its own, later, when no cell may be running, so a panic in it is
// reported on stderr, as in a goroutine a cell started, instead of ending
// the process.
func (i *Interp) afterFunc(d time.Duration, f func()) *time.Timer {
	return time.AfterFunc(d, i.guarded(f))
}

// contextAfterFunc replaces context.AfterFunc, guarding the callback as
// afterFunc does.
func (i *Interp) contextAfterFunc(ctx context.Context, f func()) (stop func() bool) {
	return context.AfterFunc(ctx, i.guarded(f))
}

// guarded returns f with its panic recovered and reported, counted
// among the goroutines that run from now until it has run.
func (i *Interp) guarded(f func()) func() {
	i.live.Add(1)
	return func() {
		id := i.stop.goBegin()
		defer func() {
			i.stop.goEnd(id)
			i.live.Add(-1)
			if r := recover(); r != nil {
				i.goPanic(r)
			}
		}()
		f()
	}
}
