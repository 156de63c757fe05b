package magics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/native"
)

func TestNativeError(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	compile := &native.Error{Kind: native.CompileFailed, Summary: "In[2]:1:1: undefined: x", Lines: []string{"In[2]:1:1: undefined: x", "In[2]:2:1: undefined: y"}}
	tests := []struct {
		name      string
		ctx       context.Context
		err       error
		opts      NativeErrorOptions
		wantName  string
		wantValue string
		wantTB    []string // nil: not checked
	}{
		{"compile", bg, compile, NativeErrorOptions{Magic: "timeit"}, "CompileError", "In[2]:1:1: undefined: x", compile.Lines},
		{"panic", bg, &native.Error{Kind: native.Panicked, Summary: "the cell panicked: boom", Lines: []string{"In[3]:2"}}, NativeErrorOptions{}, "panic", "the cell panicked: boom", []string{"the cell panicked: boom", "In[3]:2"}},
		{"crash", bg, &native.Error{Kind: native.Crashed, Summary: "fatal error: stack overflow"}, NativeErrorOptions{}, "Crash", "fatal error: stack overflow", nil},
		{"exit", bg, fmt.Errorf("run: %w", &native.Error{Kind: native.Exited, Summary: "exit 3"}), NativeErrorOptions{}, "Exit", "exit 3", nil},
		{"timeout", bg, &native.Error{Kind: native.TimedOut, Summary: "too long"}, NativeErrorOptions{}, "Timeout", "too long", nil},
		{"interrupted", bg, &native.Error{Kind: native.Interrupted, Summary: "the build was interrupted"}, NativeErrorOptions{}, "Interrupted", "the build was interrupted", nil},
		{"cancelled context", cancelled, &native.Error{Kind: native.Crashed, Summary: "killed"}, NativeErrorOptions{}, "Interrupted", "the cell was interrupted; its child process was stopped", nil},
		{"memory, engine's wording", bg, &native.Error{Kind: native.OutOfMemory, Summary: "memory limit exceeded: 1 GiB"}, NativeErrorOptions{Magic: "timeit"}, "MemoryLimitExceeded", "memory limit exceeded: 1 GiB", nil},
		{"memory, magic's wording", bg, &native.Error{Kind: native.OutOfMemory, Summary: "engine"}, NativeErrorOptions{Magic: "memit", MemoryLimit: "over 128 MiB; raise it with -m"}, "MemoryLimitExceeded", "over 128 MiB; raise it with -m", nil},
		{"kernel error kept", bg, &protocol.Error{Name: "Custom", Value: "x"}, NativeErrorOptions{}, "Custom", "x", nil},
		{"interrupted, traceback", bg, &native.Error{Kind: native.Interrupted, Summary: "the cell was interrupted"}, NativeErrorOptions{}, "Interrupted", "the cell was interrupted", []string{"Interrupted: the cell was interrupted"}},
		// Not the engine's error: the magic's own, whatever its text says.
		{"magic's own", bg, errors.New("writing the result: disk full\nmore"), NativeErrorOptions{Magic: "scalene"}, "ScaleneError", "writing the result: disk full", []string{"writing the result: disk full", "more"}},
		{"text is not a kind", bg, errors.New("panic: the child timed out over its memory limit"), NativeErrorOptions{Magic: "memit", MemoryLimit: "limit text"}, "MemitError", "panic: the child timed out over its memory limit", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NativeError(tt.ctx, tt.err, tt.opts)
			if got.Name != tt.wantName || got.Value != tt.wantValue {
				t.Errorf("got %s: %q, want %s: %q", got.Name, got.Value, tt.wantName, tt.wantValue)
			}
			if tt.wantTB != nil && strings.Join(got.Traceback, "\n") != strings.Join(tt.wantTB, "\n") {
				t.Errorf("traceback %q, want %q", got.Traceback, tt.wantTB)
			}
		})
	}
}

// TestNativeErrorNames checks that the engine's names are the ones every
// magic reports.
func TestNativeErrorNames(t *testing.T) {
	want := map[native.ErrorKind]protocol.Kind{
		native.CompileFailed: "CompileError",
		native.Panicked:      "panic",
		native.Crashed:       "Crash",
		native.Exited:        "Exit",
		native.TimedOut:      "Timeout",
		native.Interrupted:   "Interrupted",
		native.OutOfMemory:   "MemoryLimitExceeded",
	}
	for kind, name := range want {
		if got := (&native.Error{Kind: kind}).Name(); got != name {
			t.Errorf("kind %d: Name() = %q, want %q", kind, got, name)
		}
	}
}

func TestNativeWorkspace(t *testing.T) {
	tests := []struct {
		name string
		env  Env
		want string
	}{
		{"missing", Env{}, "no native workspace: %memit needs the Go toolchain"},
		{"failing", Env{Workspace: func() (*native.Workspace, error) { return nil, errors.New("disk full") }}, "cannot create the native workspace for %memit: disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.env.NativeWorkspace("memit")
			var ke *protocol.Error
			if !errors.As(err, &ke) || ke.Name != "MemitError" || !strings.Contains(ke.Value, tt.want) {
				t.Errorf("got %v, want MemitError containing %q", err, tt.want)
			}
		})
	}
}

func TestOutput(t *testing.T) {
	pub := &kerneltest.Publisher{}
	out := NewOutput(pub, "timeit")
	if _, err := out.Stdout().Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	out.Stderr().Write([]byte("warn\n"))
	if pub.Text("stdout") != "hello\n" || pub.Text("stderr") != "warn\n" {
		t.Fatalf("stdout %q, stderr %q", pub.Text("stdout"), pub.Text("stderr"))
	}
	// Concurrent writers share the budget.
	chunk := strings.Repeat("x", 64<<10)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if n, err := out.Stdout().Write([]byte(chunk)); n != len(chunk) || err != nil {
				t.Errorf("Write = %d, %v", n, err)
			}
		})
	}
	wg.Wait()
	got := pub.Text("stdout") + pub.Text("stderr")
	if n := strings.Count(got, "x"); n != OutputBudget-len("hello\nwarn\n") {
		t.Errorf("%d bytes of output kept, want the budget's %d", n, OutputBudget-len("hello\nwarn\n"))
	}
	if strings.Count(got, "[output truncated: the cell printed more than 1 MiB during %timeit") != 1 {
		t.Errorf("want one truncation notice")
	}
	NewOutput(nil, "timeit").Stdout().Write([]byte("discarded")) // no publisher: no panic
}
