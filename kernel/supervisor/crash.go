package supervisor

import (
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// causeLine matches the lines of Go's crash report that say what happened.
var causeLine = regexp.MustCompile(`(?m)^(fatal error: .*|panic: .*|unexpected fault address .*|runtime: out of memory.*|\[signal .*\]|runtime: goroutine stack exceeds .*)$`)

// recoveredNote matches what Go adds to the message of a panic re-raised
// after a recover.
var recoveredNote = regexp.MustCompile(` \[recovered(?:, repanicked)?\]`)

// death describes how a worker ended.
type death struct {
	kind  protocol.Kind // FatalError or MemoryLimitExceeded
	cause string        // one line: "fatal error: stack overflow"
	where string        // "In[7]:3", when the report names a cell position
}

// diagnose reads w's end: the memory guard's kill (limit is the kernel's
// memory limit), Go's crash report on its standard error, or its exit
// status.
func diagnose(w *worker, limit uint64) death {
	if w.broke != nil {
		return death{kind: protocol.FatalError, cause: fmt.Sprintf(
			"the interpreter process broke its protocol with the kernel (%v; did a cell write to the kernel's pipes?) and was stopped", w.broke)}
	}
	if rss := w.memKill.Load(); rss > 0 {
		return death{kind: protocol.MemoryLimitExceeded, cause: fmt.Sprintf(
			"the interpreter process used %s of memory, past the kernel's memory limit of %s by more than an eighth (set %s to change it), and was stopped",
			sysmem.FormatBytes(float64(rss)), sysmem.FormatBytes(float64(limit)), sysmem.KernelLimitEnv)}
	}
	d := death{kind: protocol.FatalError}
	report := w.report.String()
	if causes := causeLine.FindAllString(report, -1); len(causes) > 0 {
		d.cause = pickCause(causes)
	} else {
		d.cause = exitText(w.exitErr)
	}
	if strings.Contains(d.cause, "out of memory") || strings.Contains(d.cause, "cannot allocate memory") {
		d.kind = protocol.MemoryLimitExceeded
	}
	if p, ok := cell.FindPos(report); ok {
		d.where = cell.Pos{Cell: p.Cell, Line: p.Line}.String()
	}
	return d
}

// pickCause chooses the line that says most: Go's "fatal error:" line,
// with the signal or fault that led to it.
func pickCause(causes []string) string {
	var fatal, extra string
	for _, c := range causes {
		switch {
		case strings.HasPrefix(c, "fatal error: ") && fatal == "":
			fatal = c
		case strings.HasPrefix(c, "panic: ") && fatal == "":
			// A panic no recover caught: in a goroutine or callback that
			// perfnb does not guard (a time.AfterFunc callback, say).
			fatal = recoveredNote.ReplaceAllString(c, "") + " (in a goroutine or callback, where no recover caught it)"
		case strings.HasPrefix(c, "[signal "), strings.HasPrefix(c, "unexpected fault address"):
			if extra == "" {
				extra = c
			}
		}
	}
	switch {
	case fatal == "":
		return causes[0]
	case extra != "":
		return fatal + " (" + strings.Trim(extra, "[]") + ")"
	}
	return fatal
}

// exitText says how a process that left no crash report ended.
func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("the interpreter process was killed by signal %s", ws.Signal())
		}
		return fmt.Sprintf("the interpreter process exited with status %d", ee.ExitCode())
	}
	if err != nil {
		return "the interpreter process ended: " + err.Error()
	}
	return "the interpreter process exited"
}

// cellError is the error of cell count, during which the worker died.
func (d death) cellError(count int, notes []string) *protocol.Error {
	where := d.where
	if where == "" && count > 0 {
		where = cell.File(count)
	}
	value := d.cause
	tb := []string{string(d.kind) + ": " + d.cause}
	if where != "" {
		tb = append(tb, "    at "+where+" (the interpreter process ended: Go's runtime cannot recover from this)")
	}
	tb = append(tb, notes...)
	return protocol.NewError(d.kind, value, tb...)
}

// crashLog keeps what the worker writes on its standard error: the first
// crashHead bytes, where Go's crash report says what happened, and the
// last crashTail, where the crashing goroutine's stack ends a report of
// thousands of goroutines. Writes cost what they write, however long the
// report.
type crashLog struct {
	mu      sync.Mutex
	head    []byte
	tail    []byte // the last crashTail bytes after head, up to twice that before it is compacted
	dropped int64  // bytes between head and tail
}

const (
	crashHead = 64 << 10
	crashTail = 1 << 20
)

func newCrashLog() *crashLog { return &crashLog{} }

func (l *crashLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if room := crashHead - len(l.head); room > 0 {
		k := min(room, len(p))
		l.head = append(l.head, p[:k]...)
		p = p[k:]
	}
	l.tail = append(l.tail, p...)
	if over := len(l.tail) - crashTail; over > crashTail {
		l.dropped += int64(over)
		l.tail = append(l.tail[:0], l.tail[over:]...)
	}
	return n, nil
}

// String returns the head and the tail, with what was left out between
// them noted.
func (l *crashLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	tail := l.tail
	dropped := l.dropped
	if over := len(tail) - crashTail; over > 0 {
		tail, dropped = tail[over:], dropped+int64(over)
	}
	if dropped == 0 {
		return string(l.head) + string(tail)
	}
	return fmt.Sprintf("%s\n[… %d bytes …]\n%s", l.head, dropped, tail)
}
