package native

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// DefaultOutputLimit is how much a child may print, in bytes, before the
// rest of its output is discarded.
const DefaultOutputLimit = 1 << 20

// MemoryLimitEnv names the environment variable that sets the children's
// memory limit: a size as bytesize.Parse reads it ("512MiB", "2GiB"; a
// number without a unit is bytes), or "off". Without it, a child may use
// half of the memory available when it starts.
//
// The limit is enforced from outside, by watching the child's resident set
// size: GOMEMLIMIT is deliberately not set, since it would make the
// garbage collector work harder and change what is measured.
const MemoryLimitEnv = "PERFNB_MEMORY_LIMIT"

// memoryPoll is how often a child's resident memory is checked.
const memoryPoll = 20 * time.Millisecond

// maxTraceBytes caps what is kept of a crashing child's standard error.
const maxTraceBytes = 256 << 10

// memoryLimit returns the limit for a run, in bytes: requested, else
// MemoryLimitEnv, else half of the memory available (see sysmem); no limit
// (math.MaxInt64) when MemoryLimitEnv is "off".
func memoryLimit(requested int64) (int64, error) {
	if requested > 0 {
		return requested, nil
	}
	n, err := sysmem.DefaultLimit(MemoryLimitEnv, sysmem.HalfOfAvailable)
	if n == sysmem.Off {
		return math.MaxInt64, nil
	}
	return n, err
}

// NoOutputLimit, as RunOptions.OutputLimit, passes all of the child's
// output on: for callers whose writers cap it themselves (the magics'
// published streams), so that one cap, with one notice, applies.
const NoOutputLimit = -1

// cappedOutput forwards output to writers until a limit, then says once that
// the rest was discarded. It is shared by the child's output streams.
type cappedOutput struct {
	mu        sync.Mutex
	limit     int // -1: none
	left      int
	truncated bool
}

// newCappedOutput caps at limit bytes: 0 is DefaultOutputLimit, and
// NoOutputLimit none.
func newCappedOutput(limit int) *cappedOutput {
	if limit == 0 {
		limit = DefaultOutputLimit
	}
	return &cappedOutput{limit: limit, left: limit}
}

func (c *cappedOutput) write(w io.Writer, p []byte) {
	if w == nil || len(p) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limit < 0 {
		w.Write(p)
		return
	}
	if c.truncated {
		return
	}
	if len(p) > c.left {
		w.Write(p[:c.left])
		c.truncated, c.left = true, 0
		fmt.Fprintf(w, "\n[output truncated: the cell printed more than %s; the rest was discarded]\n", sysmem.FormatBytes(float64(c.limit)))
		return
	}
	c.left -= len(p)
	w.Write(p)
}

// isBenchLine reports whether a line of the test binary's standard output
// is for benchfmt: a result or a configuration line.
func isBenchLine(l string) bool {
	for _, p := range []string{"Benchmark", "goos:", "goarch:", "pkg:", "cpu:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// crashMarker reports whether a line of standard error starts the runtime's
// report of a panic or a fatal error.
func crashMarker(l string) bool {
	for _, p := range []string{"panic: ", "fatal error: ", "runtime: ", "SIGQUIT", "SIGABRT", "unexpected fault address"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func (w *Workspace) run(ctx context.Context, b *Binary, opts RunOptions) (*RunResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Kind: Interrupted, Summary: "the cell was interrupted before its child process started", Err: err}
	}
	limit, err := memoryLimit(opts.MemoryLimit)
	if err != nil {
		return nil, err
	}
	stateEnv, report := b.stateEnv()
	c, err := w.start(b, opts, stateEnv)
	if err != nil {
		return nil, err
	}
	c.read(opts)
	reason, peak, waitErr := c.watch(ctx, opts.Timeout, limit)
	c.finish()
	res := &RunResult{Bench: c.bench.Bytes(), PeakRSS: max(peak, c.maxRSS()), Elapsed: c.elapsed}
	for _, n := range b.stateNotes(report) {
		c.out.write(c.stderr, []byte("note: "+n+"\n"))
	}

	switch reason {
	case Interrupted:
		return res, &Error{Kind: Interrupted, Summary: "the cell was interrupted; its child process was stopped", Err: context.Cause(ctx)}
	case TimedOut:
		return res, &Error{Kind: TimedOut, Summary: fmt.Sprintf("the cell ran for more than %s, its time limit, and was stopped", opts.Timeout)}
	case OutOfMemory:
		return res, &Error{Kind: OutOfMemory, Summary: fmt.Sprintf(
			"memory limit exceeded: the cell used more than %s (the limit; change it with the %s environment variable, for example %s=8GiB)",
			sysmem.FormatBytes(float64(limit)), MemoryLimitEnv, MemoryLimitEnv)}
	}
	if waitErr == nil {
		return res, nil
	}
	return res, exitError(waitErr, c.cmd.ProcessState, c.trace.String(), c.failed.String())
}

// child is a running test binary and what its readers collect.
type child struct {
	cmd     *exec.Cmd
	stdout  *os.File // the child's standard output (benchmark lines, test failures)
	stderr  io.Writer
	errPipe *os.File // the child's standard error (crash reports)
	cellOut *os.File // what the cell prints (harness.OutputFDEnv)
	out     *cappedOutput
	start   time.Time
	elapsed time.Duration

	readers              sync.WaitGroup
	bench, failed, trace bytes.Buffer
	// interruptGrace, when positive, is how long an interrupted child
	// has to stop by itself after a SIGINT before it is killed (a
	// compiled cell, which then gives its values back); stopped says it
	// has stopped and is writing them, which gives it stoppedGrace more.
	interruptGrace time.Duration
	stopped        chan struct{}
}

// stoppedGrace is how long an interrupted compiled cell that stopped at a
// check may take to write its values back.
const stoppedGrace = 2 * time.Minute

// start starts the binary in its own process group, with three pipes:
// standard output, standard error and the cell's own output (fd 3).
func (w *Workspace) start(b *Binary, opts RunOptions, env []string) (*child, error) {
	var pipes [6]*os.File // read, write: stdout, stderr, cell output
	closeAll := func() {
		for _, f := range pipes {
			if f != nil {
				f.Close()
			}
		}
	}
	for i := 0; i < 6; i += 2 {
		var err error
		if pipes[i], pipes[i+1], err = os.Pipe(); err != nil {
			closeAll()
			return nil, fmt.Errorf("starting the cell's process: %w", err)
		}
	}
	// -test.paniconexit0, as go test passes it: os.Exit(0) in the cell
	// panics instead of ending the child as if all went well.
	cmd := exec.Command(b.Path, append([]string{"-test.paniconexit0"}, opts.Args...)...)
	cmd.Dir = w.dir
	cmd.Env = append(append(append(os.Environ(), harness.OutputFDEnv+"=3"), env...), opts.Env...)
	cmd.Stdout, cmd.Stderr = pipes[1], pipes[3]
	cmd.ExtraFiles = []*os.File{pipes[5]}
	cmd.SysProcAttr = childAttr()
	c := &child{cmd: cmd, stdout: pipes[0], errPipe: pipes[2], cellOut: pipes[4], start: time.Now(),
		out: newCappedOutput(opts.OutputLimit), stderr: opts.Stderr}
	if c.stderr == nil {
		c.stderr = opts.Output
	}
	err := cmd.Start()
	pipes[1].Close() // the write ends are the child's now
	pipes[3].Close()
	pipes[5].Close()
	if err != nil {
		pipes[0].Close()
		pipes[2].Close()
		pipes[4].Close()
		return nil, fmt.Errorf("starting the cell's process: %w", err)
	}
	return c, nil
}

// read starts the three readers: benchmark lines and test failures apart
// from the rest of standard output, a crash report apart from the rest of
// standard error, and the cell's own output.
func (c *child) read(opts RunOptions) {
	c.readers.Add(3)
	go func() {
		defer c.readers.Done()
		c.readStdout(opts.Output)
	}()
	go func() {
		defer c.readers.Done()
		c.readStderr()
	}()
	go func() {
		defer c.readers.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := c.cellOut.Read(buf)
			c.out.write(opts.Output, buf[:n])
			if err != nil {
				return
			}
		}
	}()
}

func (c *child) readStdout(output io.Writer) {
	sc := bufio.NewScanner(c.stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	inFail := false
	for sc.Scan() {
		l := sc.Text()
		switch {
		case isBenchLine(l):
			inFail = false
			if c.bench.Len() < 4<<20 {
				c.bench.WriteString(l + "\n")
			}
		case strings.HasPrefix(l, "--- "):
			inFail = true
			c.failed.WriteString(l + "\n")
		case inFail && strings.HasPrefix(l, "    "):
			if c.failed.Len() < 64<<10 {
				c.failed.WriteString(l + "\n")
			}
		case l == "PASS" || l == "FAIL" || strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "FAIL\t"):
			inFail = false
		default:
			inFail = false
			c.out.write(output, []byte(l+"\n"))
		}
	}
	io.Copy(io.Discard, c.stdout)
}

func (c *child) readStderr() {
	// ReadSlice, not ReadString: a line without end must not grow
	// without bound.
	r := bufio.NewReaderSize(c.errPipe, 64<<10)
	crashing := false
	for {
		b, err := r.ReadSlice('\n')
		if l := string(b); l != "" {
			if !crashing && crashMarker(l) {
				crashing = true
			}
			if crashing {
				if c.trace.Len() < maxTraceBytes {
					c.trace.WriteString(l)
				}
			} else {
				c.out.write(c.stderr, []byte(l))
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// watch waits for the child to end, killing its process group on an
// interrupt, at the time limit or past the memory limit (polled). It
// returns why it killed the child (0 if it did not), the highest
// high-water mark of resident memory it read, and Wait's error.
func (c *child) watch(ctx context.Context, timeout time.Duration, limit int64) (reason ErrorKind, peak int64, waitErr error) {
	pid := c.cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	tick := time.NewTicker(memoryPoll)
	defer tick.Stop()
	kill := func(k ErrorKind) {
		if reason == 0 {
			reason = k
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	ctxDone := ctx.Done()
	var grace <-chan time.Time
	for {
		select {
		case waitErr = <-done:
			c.elapsed = time.Since(c.start)
			return reason, peak, waitErr
		case <-ctxDone:
			ctxDone = nil
			if c.interruptGrace <= 0 {
				kill(Interrupted)
				continue
			}
			// The child stops at its next check and gives its values
			// back; one that reaches none in time is killed.
			reason = Interrupted
			syscall.Kill(pid, syscall.SIGINT)
			t := time.NewTimer(c.interruptGrace)
			defer t.Stop()
			grace = t.C
		case <-grace:
			syscall.Kill(-pid, syscall.SIGKILL)
		case <-c.stopped:
			if grace != nil {
				t := time.NewTimer(stoppedGrace)
				defer t.Stop()
				grace = t.C
			}
		case <-timer:
			kill(TimedOut)
		case <-tick.C:
			mem, err := sysmem.ReadProcess(pid)
			if err != nil {
				continue
			}
			peak = max(peak, mem.HWM)
			if mem.RSS > limit {
				kill(OutOfMemory)
			}
		}
	}
}

// finish waits for the readers, which end when the child's descriptors
// close (a grandchild that kept them open is killed with the group), and
// closes the pipes.
func (c *child) finish() {
	readersDone := make(chan struct{})
	go func() { c.readers.Wait(); close(readersDone) }()
	select {
	case <-readersDone:
	case <-time.After(200 * time.Millisecond):
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-readersDone:
		case <-time.After(time.Second):
		}
	}
	c.stdout.Close()
	c.errPipe.Close()
	c.cellOut.Close()
}

// maxRSS is the child's peak resident memory as its rusage reports it.
func (c *child) maxRSS() int64 {
	if ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * maxRSSUnit
	}
	return 0
}

// exitError describes how the child ended, from its exit status, its
// crash report and the testing package's failure lines.
func exitError(waitErr error, ps *os.ProcessState, trace, failed string) error {
	frames := cellFrames(trace)
	lines := strings.Split(strings.TrimRight(trace, "\n"), "\n")
	for i, l := range lines {
		if msg, ok := strings.CutPrefix(l, "panic: "); ok {
			// A multi-line panic value continues up to the blank line.
			for _, more := range lines[i+1:] {
				if more == "" || strings.HasPrefix(more, "[signal") || strings.HasPrefix(more, "goroutine ") {
					break
				}
				msg += " " + strings.TrimSpace(more)
			}
			msg = strings.TrimSuffix(msg, " [recovered]")
			if strings.HasPrefix(msg, "unexpected call to os.Exit(0)") {
				// -test.paniconexit0 turned os.Exit(0) into this panic.
				return &Error{Kind: Exited, Summary: "the cell called os.Exit(0), which ends the child process before anything is measured", Lines: frames, Err: waitErr}
			}
			return &Error{Kind: Panicked, Summary: "the cell panicked: " + msg, Lines: frames, Err: waitErr}
		}
	}
	for _, l := range lines {
		if msg, ok := strings.CutPrefix(l, "fatal error: "); ok {
			return &Error{Kind: Crashed, Summary: "the cell crashed: fatal error: " + msg, Lines: frames, Err: waitErr}
		}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &Error{Kind: Crashed, Summary: fmt.Sprintf("the cell's process was killed by %s", ws.Signal()), Lines: frames, Err: waitErr}
	}
	if strings.TrimSpace(failed) != "" {
		var msgs []string
		for _, l := range strings.Split(failed, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--- ") {
				msgs = append(msgs, t)
			}
		}
		if len(msgs) > 0 {
			return &Error{Kind: Exited, Summary: "the benchmark failed: " + msgs[0], Lines: msgs[1:], Err: waitErr}
		}
	}
	var exit *exec.ExitError
	code := -1
	if errors.As(waitErr, &exit) {
		code = exit.ExitCode()
	}
	return &Error{Kind: Exited, Summary: fmt.Sprintf("the cell's process exited with status %d (os.Exit or log.Fatal in the cell?)", code), Lines: frames, Err: waitErr}
}

// cellFrames picks the frames of a Go trace that are in cells, as
// "In[3]:5 in fib", without repeats of the same line in a row.
func cellFrames(trace string) []string {
	lines := strings.Split(trace, "\n")
	var frames []string
	last := ""
	repeats := 0
	for i := 1; i < len(lines); i++ {
		loc := strings.TrimSpace(lines[i])
		if _, _, ok := cell.CutPos(loc); !ok {
			continue
		}
		if sp := strings.LastIndex(loc, " +0x"); sp > 0 {
			loc = loc[:sp]
		}
		fn := strings.TrimSpace(lines[i-1])
		if p := strings.LastIndex(fn, "("); p > 0 {
			fn = fn[:p]
		}
		fn = strings.TrimPrefix(strings.TrimPrefix(fn, "perfnbcell."), "main.")
		f := loc
		if fn != "" && !strings.HasPrefix(fn, "Benchmark") {
			f += " in " + fn
		}
		if f == last {
			repeats++
			continue
		}
		if repeats > 0 {
			frames = append(frames, fmt.Sprintf("  (the line above %d more times)", repeats))
			repeats = 0
		}
		if len(frames) >= 20 {
			frames = append(frames, "...")
			break
		}
		frames = append(frames, f)
		last = f
	}
	if repeats > 0 {
		frames = append(frames, fmt.Sprintf("  (the line above %d more times)", repeats))
	}
	return frames
}
