package kernel

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestQuietStartAndStop checks that a normal start and stop log nothing at
// the Info level: the kernel's standard error shows in the terminal of
// jupyter console and of the notebook server, where routine lines are
// noise.
func TestQuietStartAndStop(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "kernel.json")
	conn := `{"transport":"tcp","ip":"127.0.0.1","key":"k","signature_scheme":"hmac-sha256","shell_port":0,"control_port":0,"stdin_port":0,"iopub_port":0,"hb_port":0}`
	if err := os.WriteFile(cf, []byte(conn), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cf, &fakeInterp{}, logger) }()
	waitForPorts(t, cf)
	cancel()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if s := buf.String(); s != "" {
		t.Errorf("a normal start and stop logged:\n%s", s)
	}
}
