package supervisor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/perfnb/perfnb/internal/pipe"
	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
)

// hostile runs the fake session's commands that do to the worker what a
// careless or hostile cell can, and returns the cell's value ("" none):
//
//	spawn         starts `sleep 60` in a session of its own; the value is its pid
//	holdpipes     the same, handing it every pipe the worker has open
//	closefd N     closes descriptor N
//	garbage N     writes N bytes without a newline on the answer pipe
//	longreport N  writes a crash report with N bytes of goroutines, exits
//	huge N        prints N bytes in one write
func hostile(cmd, arg string, pub protocol.Publisher) string {
	n, _ := strconv.Atoi(arg)
	switch cmd {
	case "spawn", "holdpipes":
		c := exec.Command("sleep", "60")
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if cmd == "holdpipes" {
			for _, fd := range pipes() {
				c.ExtraFiles = append(c.ExtraFiles, os.NewFile(uintptr(fd), "pipe"))
			}
		}
		if err := c.Start(); err != nil {
			return "error: " + err.Error()
		}
		return strconv.Itoa(c.Process.Pid)
	case "closefd":
		syscall.Close(n)
	case "garbage":
		for _, fd := range pipes() {
			if mode, _ := fcntlGetfl(fd); mode&syscall.O_ACCMODE == syscall.O_WRONLY {
				chunk := bytes.Repeat([]byte("x"), 1<<20)
				for written := 0; written < n; written += len(chunk) {
					syscall.Write(fd, chunk)
				}
			}
		}
	case "longreport":
		fmt.Fprintln(os.Stderr, "fatal error: all goroutines are asleep - deadlock!")
		line := []byte("goroutine 7 [chan receive]:\nmain.wait()\n\t/x.go:3 +0x1\n")
		for written := 0; written < n; written += len(line) {
			os.Stderr.Write(line)
		}
		os.Exit(2)
	case "huge":
		pub.Stream("stdout", strings.Repeat("y", n))
	}
	return ""
}

// pipes lists the pipes open in this process beyond its standard
// descriptors.
func pipes() []int {
	var fds []int
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		fd, _ := strconv.Atoi(e.Name())
		if link, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); fd > 2 && strings.HasPrefix(link, "pipe:") {
			fds = append(fds, fd)
		}
	}
	return fds
}

func fcntlGetfl(fd int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// spawned starts a detached process from cell count and returns its pid,
// ending it when the test ends.
func spawned(t *testing.T, s *Supervisor, count int, cmd string) int {
	t.Helper()
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc")
	}
	res, _ := run(s, count, cmd)
	pid, err := strconv.Atoi(plain(res))
	if err != nil {
		t.Fatalf("%s: %+v %q", cmd, res.Error, plain(res))
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// TestChildrenInheritNoPipes: a process a cell starts holds none of the
// worker's pipes, so a crash is reported while it still runs.
func TestChildrenInheritNoPipes(t *testing.T) {
	s := newTest(t)
	run(s, 1, "decl kept")
	pid := spawned(t, s, 2, "spawn")
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fds {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		// Files the child opens itself (its locale's, say) are its own;
		// a pipe, socket or other descriptor above 2 would be inherited.
		if n, _ := strconv.Atoi(e.Name()); n > 2 && !strings.HasPrefix(link, "/") || strings.HasPrefix(link, "pipe:") && n != 2 {
			t.Errorf("the detached child has descriptor %s open on %s", e.Name(), link)
		}
	}
	res, _ := run(s, 3, "fatal crash")
	if res.Error == nil || res.Error.Kind() != protocol.FatalError {
		t.Fatalf("the crash: %+v", res.Error)
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("the detached child had ended: the test shows nothing")
	}
	if got, _ := run(s, 4, "restored"); plain(got) != "kept" {
		t.Errorf("restored %q, want kept", plain(got))
	}
}

// TestDeathReportedWhileAPipeIsHeld: even a process that holds the
// worker's answer pipe and standard error on purpose does not delay the
// report of its death.
func TestDeathReportedWhileAPipeIsHeld(t *testing.T) {
	s := newTest(t)
	pid := spawned(t, s, 1, "holdpipes")
	res, _ := run(s, 2, "fatal crash")
	if res.Error == nil || res.Error.Value != "fatal error: crash" {
		t.Fatalf("the crash: %+v", res.Error)
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("the process holding the pipes had ended: the test shows nothing")
	}
}

// TestClosingTheWorkersDescriptors: descriptors 3 and 4, where the
// worker's pipes arrive, are /dev/null by the time a cell runs.
func TestClosingTheWorkersDescriptors(t *testing.T) {
	s := newTest(t)
	for count, code := range []string{"closefd 3", "closefd 4", "print still here"} {
		res, pub := run(s, count+1, code)
		if res.Error != nil {
			t.Fatalf("%s: %+v", code, res.Error)
		}
		if code == "print still here" && pub.Text("stdout") != "still here\n" {
			t.Errorf("after closing 3 and 4: stdout %q", pub.Text("stdout"))
		}
	}
}

// TestGarbageOnTheAnswerPipe: a cell that writes 200 MiB without a
// newline on the answer pipe ends its worker (the kernel process reads at
// most pipe.MaxLine of it) and the notebook is restored.
func TestGarbageOnTheAnswerPipe(t *testing.T) {
	s := newTest(t)
	run(s, 1, "decl kept")
	res, _ := run(s, 2, "garbage 209715200")
	if res.Error == nil || !strings.Contains(res.Error.Value, "broke its protocol") {
		t.Fatalf("garbage on the pipe: %+v", res.Error)
	}
	if got, _ := run(s, 3, "restored"); plain(got) != "kept" {
		t.Errorf("restored %q, want kept", plain(got))
	}
}

// TestLongCrashReportKeepsItsCause: a crash report of 8 MiB (thousands of
// goroutines) still names its cause.
func TestLongCrashReportKeepsItsCause(t *testing.T) {
	s := newTest(t)
	res, _ := run(s, 1, "longreport 8388608")
	if res.Error == nil || res.Error.Value != "fatal error: all goroutines are asleep - deadlock!" {
		t.Fatalf("error %+v", res.Error)
	}
}

// TestHugeOutputIsRelayedInPieces: one write of 3 MiB reaches the
// publisher whole, in pieces no larger than pipe.MaxStreamPiece.
func TestHugeOutputIsRelayedInPieces(t *testing.T) {
	s := newTest(t)
	const n = 3 << 20
	_, pub := run(s, 1, "huge "+strconv.Itoa(n))
	total := 0
	for _, o := range pub.Outputs() {
		if len(o.Text) > pipe.MaxStreamPiece {
			t.Errorf("a piece of %d bytes", len(o.Text))
		}
		total += len(o.Text)
	}
	if total != n {
		t.Errorf("%d bytes relayed, want %d", total, n)
	}
}

// TestFailedRestartIsRetried: when no worker can be started after a
// crash, the kernel keeps the declarations and restores them in the
// worker it starts next.
func TestFailedRestartIsRetried(t *testing.T) {
	starts := 0
	s, err := New(Options{
		Command: func() *exec.Cmd {
			starts++
			if starts == 2 { // the restart after the crash
				return exec.Command(filepath.Join(t.TempDir(), "no-such-binary"))
			}
			return workerCommand()
		},
		MemoryLimit: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(false) })
	run(s, 1, "decl y\nfunc f")
	res, _ := run(s, 2, "fatal crash")
	if tb := strings.Join(res.Error.Traceback, "\n"); !strings.Contains(tb, "restores them in the next") {
		t.Errorf("the crash's traceback does not say the state is kept:\n%s", tb)
	}
	got, pub := run(s, 3, "restored")
	if plain(got) != "y,f" {
		t.Errorf("restored %q, want y,f (the cell's error: %+v)", plain(got), got.Error)
	}
	if !strings.Contains(pub.Text("stderr"), "restarted in a fresh process") {
		t.Errorf("the cell that restored does not say so: %q", pub.Text("stderr"))
	}
}

// TestSlowCompletionIsAbandoned: a completion the worker does not answer
// within callTimeout releases the shell, and the next cell still runs.
func TestSlowCompletionIsAbandoned(t *testing.T) {
	s := newTest(t)
	s.callTimeout = 100 * time.Millisecond
	start := time.Now()
	c := s.Complete("sleep", 5)
	if len(c.Matches) != 0 {
		t.Errorf("a completion that took %v: %+v", time.Since(start), c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res := s.Execute(ctx, protocol.ExecuteRequest{Code: "print after", ExecutionCount: 1}, &kerneltest.Publisher{}); res.Error != nil {
		t.Errorf("the cell after: %+v", res.Error)
	}
}

// blockedWriter is a log that nobody reads: its writes wait until
// release is closed.
type blockedWriter struct{ release chan struct{} }

func (b blockedWriter) Write(p []byte) (int, error) {
	<-b.release
	return len(p), nil
}

// TestDeathReportedWhileTheLogIsBlocked: a kernel whose own standard
// error nobody reads still reports a crash, with its cause.
func TestDeathReportedWhileTheLogIsBlocked(t *testing.T) {
	log := blockedWriter{make(chan struct{})}
	s, err := New(Options{Command: workerCommand, MemoryLimit: -1, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(log.release)
		s.Shutdown(false)
	})
	res, _ := run(s, 1, "fatal crash")
	if res.Error == nil || res.Error.Value != "fatal error: crash" {
		t.Fatalf("the crash: %+v", res.Error)
	}
}
