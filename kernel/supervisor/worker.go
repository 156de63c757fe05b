package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/perfnb/perfnb/internal/pipe"
	"github.com/perfnb/perfnb/kernel/protocol"
)

// errDied is returned for a request whose worker ended before answering.
var errDied = errors.New("the interpreter process ended")

// drainGrace is how long the pipes of a worker that has exited are still
// read: what it wrote before it ended is there at once, and a process it
// started that holds a pipe must not delay the report of its death.
const drainGrace = 200 * time.Millisecond

// worker is one interpreter process, seen from the kernel process.
type worker struct {
	cmd     *exec.Cmd
	enc     *pipe.Encoder
	toChild *os.File // our end of its fd 3; closing it tells the worker to end

	ready   chan struct{}    // closed when the worker has said it is ready
	replies chan *pipe.Frame // answers to requests (one request at a time)
	// stopping receives the sequence numbers of interrupted executions
	// that say they are stopping (pipe.OpStopping).
	stopping chan uint64
	dead     chan struct{} // closed once the process has exited and its pipes are read
	exitErr  error         // cmd.Wait's error, set before dead is closed
	report   *crashLog     // its standard error: Go's crash report
	tmp      string        // its directory of temporary files (pipe.TempDirEnv), removed once it has ended
	broke    error         // a message that broke the protocol, set before dead is closed

	memKill atomic.Uint64 // resident bytes when the memory guard killed it

	mu  sync.Mutex
	pub protocol.Publisher // where outputs go: the last execution's publisher
	ctx context.Context    // that execution's context, for input requests
}

// startWorker starts cmd as a worker: its fd 3 reads requests, its fd 4
// writes answers, its standard error is kept for crash reports (and
// copied to stderr, when not nil), and it has a directory of its own for
// temporary files.
func startWorker(cmd *exec.Cmd, stderr io.Writer) (*worker, error) {
	tmp, err := os.MkdirTemp("", "perfnb-worker-")
	if err != nil {
		return nil, fmt.Errorf("starting the interpreter process: %w", err)
	}
	cmd.Env = append(cmd.Environ(), pipe.TempDirEnv+"="+tmp)
	var ends []*os.File // reqR, reqW, ansR, ansW, errR, errW
	for range 3 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(ends)
			os.Remove(tmp)
			return nil, fmt.Errorf("starting the interpreter process: %w", err)
		}
		ends = append(ends, r, w)
	}
	reqR, reqW, ansR, ansW, errR, errW := ends[0], ends[1], ends[2], ends[3], ends[4], ends[5]
	w := &worker{
		cmd:      cmd,
		enc:      pipe.NewEncoder(reqW),
		toChild:  reqW,
		ready:    make(chan struct{}),
		replies:  make(chan *pipe.Frame, 1),
		stopping: make(chan uint64, 1),
		dead:     make(chan struct{}),
		report:   newCrashLog(),
		tmp:      tmp,
	}
	cmd.ExtraFiles = []*os.File{reqR, ansW}
	// A pipe of our own rather than a Writer: os/exec would copy a Writer
	// in a goroutine that Wait waits for, as long as any process the
	// worker started holds its standard error.
	cmd.Stderr = errW
	setProcAttr(cmd)
	err = cmd.Start()
	closeAll([]*os.File{reqR, ansW, errW})
	if err != nil {
		closeAll([]*os.File{reqW, ansR, errR})
		os.Remove(tmp)
		return nil, fmt.Errorf("starting the interpreter process: %w", err)
	}
	answers, report := make(chan struct{}), make(chan struct{})
	go func() { w.read(pipe.NewDecoder(ansR)); close(answers) }()
	go func() { copyReport(errR, w.report, stderr); close(report) }()
	go w.await(answers, report, ansR, errR)
	return w, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// await waits for the process to exit, removes its temporary files,
// reads what is left in its pipes for at most drainGrace, and declares it
// dead. The copy of the standard error is not waited for beyond that
// either: it may be blocked writing to a log nobody reads.
func (w *worker) await(answers, report <-chan struct{}, ans, stderr *os.File) {
	w.exitErr = w.cmd.Wait()
	os.RemoveAll(w.tmp)
	deadline := time.Now().Add(drainGrace)
	_ = ans.SetReadDeadline(deadline)
	_ = stderr.SetReadDeadline(deadline)
	<-answers
	select {
	case <-report:
	case <-time.After(time.Until(deadline) + drainGrace):
	}
	ans.Close()
	stderr.Close()
	w.toChild.Close()
	close(w.dead)
}

// copyReport copies the worker's standard error into report, and to log
// when not nil, until the pipe ends.
func copyReport(r io.Reader, report *crashLog, log io.Writer) {
	var dst io.Writer = report
	if log != nil {
		dst = io.MultiWriter(report, log)
	}
	_, _ = io.Copy(dst, r)
}

// read dispatches the worker's messages until its answer pipe ends. A
// message that breaks the protocol (too long, malformed, of an unknown
// kind) ends the worker: whatever wrote it, the stream cannot be trusted
// any more.
func (w *worker) read(dec *pipe.Decoder) {
	readyClosed := false
	for {
		f, err := dec.Next()
		if err == nil {
			err = w.dispatch(f, &readyClosed)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
				w.broke = err
				w.kill()
			}
			return
		}
	}
}

// dispatch handles one message from the worker.
func (w *worker) dispatch(f *pipe.Frame, readyClosed *bool) error {
	switch f.Op {
	case pipe.OpReady:
		if !*readyClosed {
			close(w.ready)
			*readyClosed = true
		}
	case pipe.OpReply:
		// One request at a time: an answer still waiting when the next
		// comes is one whose request was abandoned.
		for {
			select {
			case w.replies <- f:
				return nil
			default:
				select {
				case <-w.replies:
				default:
				}
			}
		}
	case pipe.OpInput:
		var in pipe.InputRequest
		if err := f.Decode(&in); err != nil {
			return err
		}
		go w.input(f.Seq, in) // waits for the user: not on this goroutine
	case pipe.OpStream, pipe.OpDisplay, pipe.OpUpdate, pipe.OpClear:
		return w.output(f)
	case pipe.OpStopping:
		select {
		case w.stopping <- f.Seq:
		default: // one is enough
		}
	default:
		return fmt.Errorf("a message of unknown kind %.20q", f.Op)
	}
	return nil
}

// output hands an output message to the publisher.
func (w *worker) output(f *pipe.Frame) error {
	pub, _ := w.publisher()
	switch f.Op {
	case pipe.OpStream:
		var o pipe.StreamOutput
		if err := f.Decode(&o); err != nil {
			return err
		}
		if pub != nil {
			pub.Stream(o.Name, o.Text)
		}
	case pipe.OpDisplay, pipe.OpUpdate:
		var o pipe.DisplayOutput
		if err := f.Decode(&o); err != nil {
			return err
		}
		switch {
		case pub == nil:
		case f.Op == pipe.OpDisplay:
			pub.Display(o.Data, o.Metadata, o.DisplayID)
		default:
			pub.UpdateDisplay(o.Data, o.Metadata, o.DisplayID)
		}
	case pipe.OpClear:
		var o pipe.ClearOutput
		if err := f.Decode(&o); err != nil {
			return err
		}
		if pub != nil {
			pub.ClearOutput(o.Wait)
		}
	}
	return nil
}

// input asks the client for a line and sends the answer back.
func (w *worker) input(seq uint64, in pipe.InputRequest) {
	var reply pipe.InputReply
	pub, ctx := w.publisher()
	if pub == nil {
		reply.Err = pipe.InputNoStdin
	} else {
		text, err := pub.Input(ctx, in.Prompt, in.Password)
		switch {
		case errors.Is(err, protocol.ErrStdinNotAllowed):
			reply.Err = pipe.InputNoStdin
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			reply.Err = pipe.InputCanceled
		case err != nil:
			reply.Err = err.Error()
		}
		reply.Text = text
	}
	_ = w.enc.Send(pipe.OpInputReply, seq, reply, false)
}

func (w *worker) setPublisher(ctx context.Context, pub protocol.Publisher) {
	w.mu.Lock()
	w.pub, w.ctx = pub, ctx
	w.mu.Unlock()
}

func (w *worker) publisher() (protocol.Publisher, context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pub, w.ctx
}

// alive reports whether the process has not ended.
func (w *worker) alive() bool {
	select {
	case <-w.dead:
		return false
	default:
		return true
	}
}

// call sends request op with body and decodes its answer into answer;
// errDied if the worker ends first. A timeout (nil: none) kills the
// worker when kill is set, and otherwise abandons the request (its late
// answer is dropped).
func (w *worker) call(op string, seq uint64, body, answer any, timeout <-chan time.Time, kill bool) error {
	if err := w.enc.Send(op, seq, body, false); err != nil {
		if !w.enc.Failed() {
			return err // the request could not be encoded
		}
		<-w.dead
		return errDied
	}
	r, err := w.wait(seq, timeout, kill)
	if err != nil {
		return err
	}
	return r.Decode(answer)
}

// errAbandoned is returned for a request whose answer did not come in
// time.
var errAbandoned = errors.New("the interpreter process did not answer in time")

// wait waits for the answer to request seq, the end of the worker, or
// the timeout (nil: none), which kills the worker when kill is set and
// otherwise returns errAbandoned.
func (w *worker) wait(seq uint64, timeout <-chan time.Time, kill bool) (*pipe.Frame, error) {
	for {
		select {
		case r := <-w.replies:
			if r.Seq == seq {
				return r, nil
			}
		case <-w.dead:
			select {
			case r := <-w.replies:
				if r.Seq == seq {
					return r, nil
				}
			default:
			}
			return nil, errDied
		case <-timeout:
			if !kill {
				return nil, errAbandoned
			}
			w.kill()
			timeout = nil
		}
	}
}

// kill ends the process at once.
func (w *worker) kill() {
	if w.alive() {
		_ = w.cmd.Process.Kill()
	}
}

// stop asks the worker to shut down and kills it if it has not ended
// within grace.
func (w *worker) stop(restart bool, grace time.Duration) error {
	if !w.alive() {
		return nil
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	var err error
	if w.enc.Send(pipe.OpShutdown, 0, pipe.ShutdownRequest{Restart: restart}, false) == nil {
		var r pipe.ErrorReply
		if f, e := w.wait(0, t.C, true); e == nil && f.Decode(&r) == nil && r.Err != "" {
			err = errors.New(r.Err)
		}
		// It has answered: it exits by itself, unless something it
		// started keeps it from doing so.
		select {
		case <-w.dead:
		case <-t.C:
		}
	}
	w.kill()
	<-w.dead
	return err
}
