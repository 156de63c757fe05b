package kernel

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logInterval is how often a log line with the same message may be
// written: a peer that sends the kernel something it refuses thousands of
// times a second must not flood the log (Jupyter's server log, or a
// terminal).
const logInterval = time.Second

// throttle is a slog.Handler that passes at most one record per message
// and logInterval; the next one passed says how many were suppressed.
type throttle struct {
	slog.Handler
	st *throttleState
}

type throttleState struct {
	mu         sync.Mutex
	last       map[string]time.Time // by message; messages are constants
	suppressed map[string]int
}

func newThrottle(h slog.Handler) throttle {
	return throttle{h, &throttleState{last: map[string]time.Time{}, suppressed: map[string]int{}}}
}

func (t throttle) Handle(ctx context.Context, r slog.Record) error {
	t.st.mu.Lock()
	if last, ok := t.st.last[r.Message]; ok && r.Time.Sub(last) < logInterval {
		t.st.suppressed[r.Message]++
		t.st.mu.Unlock()
		return nil
	}
	t.st.last[r.Message] = r.Time
	n := t.st.suppressed[r.Message]
	delete(t.st.suppressed, r.Message)
	t.st.mu.Unlock()
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", n))
	}
	return t.Handler.Handle(ctx, r)
}

func (t throttle) WithAttrs(attrs []slog.Attr) slog.Handler {
	return throttle{t.Handler.WithAttrs(attrs), t.st}
}

func (t throttle) WithGroup(name string) slog.Handler {
	return throttle{t.Handler.WithGroup(name), t.st}
}
