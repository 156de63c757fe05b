package native

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// A compiled cell reads its standard input as any Go program does
// (fmt.Scan, bufio.NewReader(os.Stdin)...), so nothing in the cell asks
// for input: the kernel sees that the child waits for it. Its standard
// input is a pipe; while the child runs, stdinFeeder looks every
// stdinPoll at what the child's threads are doing (/proc/PID/task/*/
// syscall): a thread blocked in read(0, ...) while the pipe is empty is
// waiting for a line, which is then asked of the client, as input() is
// in IPython, and written to the pipe.

// stdinPoll is how often the child's threads are looked at.
const stdinPoll = 20 * time.Millisecond

// stdinFeeder writes the lines the client gives to a compiled cell's
// standard input.
type stdinFeeder struct {
	w *os.File // the pipe's write end
	r *os.File // a copy of its read end, to see what is unread; may be nil
}

// stdinReadEnd returns a copy of the read end of the child's standard
// input, so that the kernel can tell whether it holds unread bytes after
// the child's own copy is closed.
func stdinReadEnd(f *os.File) *os.File {
	fd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return nil
	}
	return os.NewFile(fd, "stdin-probe")
}

// start feeds the child pid until the returned stop is called; stop
// reports whether the child asked for input that input refused (the
// client does not accept input). Without input, the child's input is
// empty.
func (f *stdinFeeder) start(ctx context.Context, pid int, input func(context.Context) (string, error)) (stop func() (refused bool)) {
	if input == nil || f.r == nil || runtime.GOOS != "linux" {
		f.close()
		return func() bool { return false }
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var refused bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer f.close()
		t := time.NewTicker(stdinPoll)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if unread(f.r) > 0 || !waitsForStdin(pid) {
				continue
			}
			line, err := input(ctx)
			if err != nil {
				refused = ctx.Err() == nil
				return // the end of the cell's input
			}
			if _, err := f.w.WriteString(line + "\n"); err != nil {
				return
			}
		}
	}()
	return func() bool {
		close(done)
		wg.Wait()
		return refused
	}
}

func (f *stdinFeeder) close() {
	f.w.Close()
	if f.r != nil {
		f.r.Close()
	}
}

// unread returns how many bytes the pipe of r holds (FIONREAD).
func unread(r *os.File) int {
	var n int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, r.Fd(), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	if errno != 0 {
		return 0
	}
	return int(n)
}

// readSyscall is the number of read(2) on this architecture, as
// /proc/PID/syscall shows it.
func readSyscall() string {
	if runtime.GOARCH == "arm64" || runtime.GOARCH == "riscv64" || runtime.GOARCH == "loong64" {
		return "63"
	}
	return "0"
}

// waitsForStdin reports whether a thread of process pid is blocked
// reading its standard input.
func waitsForStdin(pid int) bool {
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/syscall")
	if err != nil {
		return false
	}
	want := []byte(readSyscall() + " 0x0 ")
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err == nil && bytes.HasPrefix(b, want) {
			return true
		}
	}
	return false
}
