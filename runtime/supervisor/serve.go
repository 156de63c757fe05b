package supervisor

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/harness"
)

// Session is what a worker serves: the interpreter, which can also list
// the declarations in force and restore them in a fresh process.
// *session.Session implements it.
type Session interface {
	protocol.Interpreter
	// Decls returns the declarations in force.
	Decls() []cell.Decl
	// Restore evaluates decls quietly and returns why each one that could
	// not be restored failed.
	Restore(ctx context.Context, decls []cell.Decl) []error
}

// valueKeeper is implemented by a Session that can save its variables'
// values and give them to a fresh session (*session.Session).
type valueKeeper interface {
	SaveValues() (saved []harness.SavedVar, skipped []string)
	RestoreValues(saved []harness.SavedVar) (restored, failed []string)
}

// orphanGrace is how long a worker whose kernel process has gone waits for
// its running cell to stop before it exits anyway.
const orphanGrace = 2 * time.Second

// request is a request read by the worker, with the context of an
// execution (cancelled by an interrupt).
type request struct {
	m      *message
	ctx    context.Context
	cancel context.CancelFunc
}

// server is the worker's side of the protocol.
type server struct {
	sess Session
	enc  *encoder
	sent []cell.Decl // the declarations last reported
	// sentValues is the digests of the values last reported, "" before.
	sentValues string

	mu     sync.Mutex
	runs   map[uint64]context.CancelFunc // executions that have not ended
	inputs map[uint64]chan *message      // input requests waiting for a reply
	nextIn uint64
}

// Serve runs the worker's side of the protocol for sess: it reads requests
// from in and writes answers and outputs to out, until a shutdown request
// (after which it returns nil) or the end of in, which means the kernel
// process has gone: then it interrupts the running cell, shuts sess down
// and returns; if the cell does not stop within a short grace period, it
// ends the process.
func Serve(sess Session, in io.Reader, out io.Writer) error {
	s := &server{
		sess:   sess,
		enc:    newEncoder(out),
		runs:   map[uint64]context.CancelFunc{},
		inputs: map[uint64]chan *message{},
	}
	reqs := make(chan request, 16)
	go s.read(newDecoder(in), reqs)
	if err := s.enc.send(&message{Op: opReady}, false); err != nil {
		return err
	}
	for r := range reqs {
		if s.handle(r) {
			return nil
		}
	}
	_ = sess.Shutdown(false)
	return nil
}

// read decodes requests: interrupts and input replies are handled at once,
// the others are queued for the serving loop.
func (s *server) read(dec *decoder, reqs chan<- request) {
	defer close(reqs)
	for {
		m, err := dec.next()
		if err != nil {
			s.cancelAll()
			time.AfterFunc(orphanGrace, func() { os.Exit(1) })
			return
		}
		switch m.Op {
		case opInterrupt:
			s.mu.Lock()
			if cancel := s.runs[m.Seq]; cancel != nil {
				cancel()
			}
			s.mu.Unlock()
		case opInputReply:
			s.mu.Lock()
			ch := s.inputs[m.Seq]
			delete(s.inputs, m.Seq)
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case opExecute:
			ctx, cancel := context.WithCancel(context.Background())
			s.mu.Lock()
			s.runs[m.Seq] = cancel
			s.mu.Unlock()
			reqs <- request{m: m, ctx: ctx, cancel: cancel}
		default:
			reqs <- request{m: m, ctx: context.Background(), cancel: func() {}}
		}
	}
}

func (s *server) cancelAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.runs {
		cancel()
	}
}

// handle answers one request; it reports whether the worker is to end.
func (s *server) handle(r request) (stop bool) {
	m := r.m
	reply := &message{Op: opReply, Seq: m.Seq}
	switch m.Op {
	case opExecute:
		res := s.sess.Execute(r.ctx, *m.Request, &relay{s: s, seq: m.Seq})
		r.cancel()
		s.mu.Lock()
		delete(s.runs, m.Seq)
		s.mu.Unlock()
		reply.Result = &res
		s.addDecls(reply)
		s.addValues(reply)
	case opValues:
		if vk, ok := s.sess.(valueKeeper); ok {
			reply.Restored, reply.Failed = vk.RestoreValues(m.Values)
		}
		s.sentValues = ""
		s.addValues(reply)
	case opRestore:
		errs := s.sess.Restore(r.ctx, m.Decls)
		for _, err := range errs {
			reply.Failed = append(reply.Failed, err.Error())
		}
		s.sent = nil
		s.addDecls(reply)
	case opComplete:
		c := s.sess.Complete(m.Code, m.Cursor)
		reply.Completion = &c
	case opInspect:
		in := s.sess.Inspect(m.Code, m.Cursor, m.Detail)
		reply.Inspection = &in
	case opIsComplete:
		c := s.sess.IsComplete(m.Code)
		reply.Completeness = &c
	case opShutdown:
		if err := s.sess.Shutdown(m.Restart); err != nil {
			reply.Err = err.Error()
		}
		stop = true
	default:
		reply.Err = "unknown request " + m.Op
	}
	if err := s.enc.send(reply, false); err != nil && reply.Result != nil {
		// A value JSON cannot carry (user_expressions, metadata): fail the
		// cell with why, rather than leave the kernel waiting.
		reply.Result = &protocol.ExecuteResult{Error: protocol.NewError(protocol.Generic, err.Error(), err.Error())}
		_ = s.enc.send(reply, false)
	}
	return stop
}

// addDecls puts the declarations in force into reply when they changed
// since they were last reported.
func (s *server) addDecls(reply *message) {
	d := s.sess.Decls()
	if s.sent != nil && reflect.DeepEqual(d, s.sent) {
		return
	}
	s.sent = d
	reply.Decls, reply.Changed = d, true
	if d == nil {
		s.sent = []cell.Decl{}
	}
}

// addValues puts the variables' values into reply when they changed since
// they were last reported.
func (s *server) addValues(reply *message) {
	vk, ok := s.sess.(valueKeeper)
	if !ok {
		return
	}
	saved, skipped := vk.SaveValues()
	var key strings.Builder
	key.WriteString("v") // not "": an empty snapshot is reported once too
	for _, v := range saved {
		key.WriteString(v.Name + "=" + v.Digest + ";")
	}
	for _, n := range skipped {
		key.WriteString(n + ";")
	}
	if key.String() == s.sentValues {
		return
	}
	s.sentValues = key.String()
	reply.Values, reply.Skipped, reply.Saved = saved, skipped, true
}

// relay is the Publisher of one execution in the worker: it turns every
// call into a message to the kernel process.
type relay struct {
	s   *server
	seq uint64
}

func (p *relay) Stream(name, text string) {
	if text != "" {
		_ = p.s.enc.send(&message{Op: opStream, Seq: p.seq, Name: name, Text: text}, true)
	}
}

func (p *relay) Display(data protocol.Bundle, metadata map[string]any, displayID string) {
	p.output(&message{Op: opDisplay, Seq: p.seq, Data: data, Metadata: metadata, DisplayID: displayID})
}

func (p *relay) UpdateDisplay(data protocol.Bundle, metadata map[string]any, displayID string) {
	p.output(&message{Op: opUpdate, Seq: p.seq, Data: data, Metadata: metadata, DisplayID: displayID})
}

func (p *relay) ClearOutput(wait bool) {
	p.output(&message{Op: opClear, Seq: p.seq, Wait: wait})
}

// output sends m; a bundle that cannot be encoded is reported on stderr.
func (p *relay) output(m *message) {
	if err := p.s.enc.send(m, false); err != nil {
		p.Stream("stderr", err.Error()+"\n")
	}
}

func (p *relay) Input(ctx context.Context, prompt string, password bool) (string, error) {
	ch := make(chan *message, 1)
	p.s.mu.Lock()
	p.s.nextIn++
	id := p.s.nextIn
	p.s.inputs[id] = ch
	p.s.mu.Unlock()
	defer func() {
		p.s.mu.Lock()
		delete(p.s.inputs, id)
		p.s.mu.Unlock()
	}()
	if err := p.s.enc.send(&message{Op: opInput, Seq: id, Prompt: prompt, Password: password}, false); err != nil {
		return "", err
	}
	select {
	case r := <-ch:
		switch r.Err {
		case "":
			return r.Text, nil
		case errNoStdin:
			return "", protocol.ErrStdinNotAllowed
		case errCanceled:
			return "", context.Canceled
		}
		return "", errors.New(r.Err)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// MaxStack is the stack limit of a goroutine in the interpreter process,
// lower than Go's 1 GiB default so that endless recursion fails in under
// two seconds instead of six and a half, and takes less memory doing it.
// Interpreted recursion still reaches 300,000 calls (measured: 128 MiB
// saves only 0.3 s and stops near 250,000).
const MaxStack = 256 << 20

// ServeProcess is the main function of a worker process: it lowers the
// stack limit and serves sess on file descriptors 3 (requests) and 4
// (answers), as Supervisor starts it. SIGTERM (sent by Linux when the
// kernel process dies) shuts sess down, removing its temporary files,
// and ends the process.
func ServeProcess(sess Session) error {
	debug.SetMaxStack(MaxStack)
	in := os.NewFile(3, "requests")
	out := os.NewFile(4, "answers")
	if _, err := in.Stat(); err != nil {
		return errors.New("the interpreter process is started by perfnb kernel, with its pipes")
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		time.AfterFunc(orphanGrace, func() { os.Exit(1) })
		_ = sess.Shutdown(false)
		os.Exit(1)
	}()
	return Serve(sess, in, out)
}
