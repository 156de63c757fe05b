package kernel

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestWatchParent(t *testing.T) {
	var ppid atomic.Int64
	ppid.Store(4242)
	get := func() int { return int(ppid.Load()) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gone := watchParent(ctx, get, 5*time.Millisecond)
	select {
	case <-gone:
		t.Fatal("reported gone while the parent is there")
	case <-time.After(50 * time.Millisecond):
	}
	ppid.Store(1) // reparented to init: the client died
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
		t.Fatal("a changed parent was not noticed")
	}
}

func TestParentGoneNeedsJupyter(t *testing.T) {
	for _, v := range []string{"", "1", "not a pid"} {
		t.Setenv("JPY_PARENT_PID", v)
		if ch := parentGone(context.Background()); ch != nil {
			t.Errorf("JPY_PARENT_PID=%q: watching the parent", v)
		}
	}
}
