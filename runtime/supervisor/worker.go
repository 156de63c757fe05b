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

	"github.com/perfnb/perfnb/kernel/protocol"
)

// errDied is returned for a request whose worker ended before answering.
var errDied = errors.New("the interpreter process ended")

// worker is one interpreter process, seen from the kernel process.
type worker struct {
	cmd     *exec.Cmd
	enc     *encoder
	toChild *os.File // our end of its fd 3; closing it tells the worker to end

	ready   chan struct{} // closed when the worker has said it is ready
	replies chan *message // answers to requests (one request at a time)
	dead    chan struct{} // closed once the process has exited and been waited for
	exitErr error         // cmd.Wait's error, set before dead is closed
	report  *tail         // the end of its standard error: Go's crash report

	memKill atomic.Uint64 // resident bytes when the memory guard killed it

	mu  sync.Mutex
	pub protocol.Publisher // where outputs go: the last execution's publisher
	ctx context.Context    // that execution's context, for input requests
}

// startWorker starts cmd as a worker: its fd 3 reads requests, its fd 4
// writes answers, its standard error is kept for crash reports (and
// copied to stderr, when not nil).
func startWorker(cmd *exec.Cmd, stderr io.Writer) (*worker, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting the interpreter process: %w", err)
	}
	ansR, ansW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("starting the interpreter process: %w", err)
	}
	w := &worker{
		cmd:     cmd,
		enc:     newEncoder(reqW),
		toChild: reqW,
		ready:   make(chan struct{}),
		replies: make(chan *message, 1),
		dead:    make(chan struct{}),
		report:  newTail(1 << 20),
	}
	cmd.ExtraFiles = []*os.File{reqR, ansW}
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(w.report, stderr)
	} else {
		cmd.Stderr = w.report
	}
	setProcAttr(cmd)
	// A process the worker started that outlives it and holds its stderr
	// must not keep Wait, and so the death's report, waiting.
	cmd.WaitDelay = time.Second
	err = cmd.Start()
	reqR.Close()
	ansW.Close()
	if err != nil {
		reqW.Close()
		ansR.Close()
		return nil, fmt.Errorf("starting the interpreter process: %w", err)
	}
	go w.read(newDecoder(ansR), ansR)
	return w, nil
}

// read dispatches the worker's messages until it ends, then waits for it.
func (w *worker) read(dec *decoder, r io.Closer) {
	readyClosed := false
	for {
		m, err := dec.next()
		if err != nil {
			break
		}
		switch m.Op {
		case opReady:
			if !readyClosed {
				close(w.ready)
				readyClosed = true
			}
		case opReply:
			w.replies <- m
		case opInput:
			go w.input(m) // waits for the user: not on this goroutine
		default:
			w.output(m)
		}
	}
	r.Close()
	w.toChild.Close()
	w.exitErr = w.cmd.Wait()
	close(w.dead)
}

// output hands an output message to the publisher.
func (w *worker) output(m *message) {
	pub, _ := w.publisher()
	if pub == nil {
		return
	}
	switch m.Op {
	case opStream:
		pub.Stream(m.Name, m.Text)
	case opDisplay:
		pub.Display(m.Data, m.Metadata, m.DisplayID)
	case opUpdate:
		pub.UpdateDisplay(m.Data, m.Metadata, m.DisplayID)
	case opClear:
		pub.ClearOutput(m.Wait)
	}
}

// input asks the client for a line and sends the answer back.
func (w *worker) input(m *message) {
	reply := &message{Op: opInputReply, Seq: m.Seq}
	pub, ctx := w.publisher()
	if pub == nil {
		reply.Err = errNoStdin
	} else {
		text, err := pub.Input(ctx, m.Prompt, m.Password)
		switch {
		case errors.Is(err, protocol.ErrStdinNotAllowed):
			reply.Err = errNoStdin
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			reply.Err = errCanceled
		case err != nil:
			reply.Err = err.Error()
		}
		reply.Text = text
	}
	_ = w.enc.send(reply, false)
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

// call sends m and waits for its answer; errDied if the worker ends
// first. A timeout (nil: none) kills the worker.
func (w *worker) call(m *message, timeout <-chan time.Time) (*message, error) {
	if err := w.enc.send(m, false); err != nil {
		<-w.dead
		return nil, errDied
	}
	return w.wait(m.Seq, timeout)
}

// wait waits for the answer to request seq, the end of the worker, or
// the timeout (nil: none), which kills the worker.
func (w *worker) wait(seq uint64, timeout <-chan time.Time) (*message, error) {
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
	if w.enc.send(&message{Op: opShutdown, Restart: restart}, false) == nil {
		if r, e := w.wait(0, t.C); e == nil && r.Err != "" {
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

// tail is an io.Writer that keeps the last bytes written to it.
type tail struct {
	mu   sync.Mutex
	max  int
	data []byte
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.data = append(t.data, p...)
	if over := len(t.data) - t.max; over > 0 {
		t.data = append(t.data[:0], t.data[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.data)
}
