package kernel

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestThrottleSuppressesFloods(t *testing.T) {
	var out bytes.Buffer
	h := newThrottle(slog.NewTextHandler(&out, nil))
	logger := slog.New(h.WithAttrs([]slog.Attr{slog.String("channel", "shell")}))
	t0 := time.Now()
	for i, tc := range []struct {
		msg   string
		after time.Duration
		want  string // what the line says, or "" for no line
	}{
		{"disconnected a peer", 0, "disconnected a peer"},
		{"disconnected a peer", 10 * time.Millisecond, ""},
		{"disconnected a peer", 900 * time.Millisecond, ""},
		{"dropped an invalid message", 950 * time.Millisecond, "dropped an invalid message"},
		{"disconnected a peer", 1100 * time.Millisecond, "suppressed=2"},
		{"disconnected a peer", 1200 * time.Millisecond, ""},
		{"disconnected a peer", 2200 * time.Millisecond, "suppressed=1"},
	} {
		out.Reset()
		r := slog.NewRecord(t0.Add(tc.after), slog.LevelWarn, tc.msg, 0)
		if err := logger.Handler().Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		switch {
		case tc.want == "" && got != "":
			t.Errorf("record %d (%s after %v) was written: %s", i, tc.msg, tc.after, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("record %d (%s after %v): %q, want a line with %q", i, tc.msg, tc.after, got, tc.want)
		case tc.want != "" && !strings.Contains(got, "channel=shell"):
			t.Errorf("record %d lost its attributes: %q", i, got)
		}
	}
}
