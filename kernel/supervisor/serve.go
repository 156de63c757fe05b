package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

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
	// DeclChanges returns the declarations added since it was last
	// called, in the order the store took them, or, with all set, every
	// declaration in force (after a restore, which may drop some).
	DeclChanges() (decls []cell.Decl, all bool)
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
	f      *frame
	ctx    context.Context
	cancel context.CancelFunc
}

// server is the worker's side of the protocol.
type server struct {
	sess Session
	enc  *encoder
	// resendDecls says that the last report of the declarations did not
	// reach the kernel process: the next one sends them all.
	resendDecls bool
	// sentValues is the digests of the values last reported, "" before.
	sentValues string

	mu     sync.Mutex
	runs   map[uint64]context.CancelFunc // executions that have not ended
	inputs map[uint64]chan inputReply    // input requests waiting for a reply
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
		inputs: map[uint64]chan inputReply{},
	}
	reqs := make(chan request, 16)
	go s.read(newDecoder(in), reqs)
	if err := s.enc.send(opReady, 0, nil, false); err != nil {
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
		f, err := dec.next()
		if err != nil {
			s.cancelAll()
			time.AfterFunc(orphanGrace, func() { os.Exit(1) })
			return
		}
		switch f.op {
		case opInterrupt:
			s.mu.Lock()
			if cancel := s.runs[f.seq]; cancel != nil {
				cancel()
			}
			s.mu.Unlock()
		case opInputReply:
			var r inputReply
			if err := f.decode(&r); err != nil {
				r.Err = err.Error()
			}
			s.mu.Lock()
			ch := s.inputs[f.seq]
			delete(s.inputs, f.seq)
			s.mu.Unlock()
			if ch != nil {
				ch <- r
			}
		case opExecute:
			ctx, cancel := context.WithCancel(context.Background())
			s.mu.Lock()
			s.runs[f.seq] = cancel
			s.mu.Unlock()
			reqs <- request{f: f, ctx: ctx, cancel: cancel}
		default:
			reqs <- request{f: f, ctx: context.Background(), cancel: func() {}}
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
	f := r.f
	var reply any
	var err error
	switch f.op {
	case opExecute:
		s.execute(r)
		return false
	case opValues:
		reply, err = s.values(f)
	case opRestore:
		reply, err = s.restore(r)
	case opComplete, opInspect, opIsComplete:
		reply, err = s.code(f)
	case opShutdown:
		var req shutdownRequest
		err = f.decode(&req)
		var e errorReply
		if err == nil {
			if serr := s.sess.Shutdown(req.Restart); serr != nil {
				e.Err = serr.Error()
			}
		}
		reply, stop = e, true
	default:
		err = fmt.Errorf("unknown request %.20q", f.op)
	}
	if err != nil {
		reply = errorReply{Err: err.Error()}
	}
	_ = s.enc.send(opReply, f.seq, reply, false)
	return stop
}

// execute runs a cell and answers with its result and the state it left.
func (s *server) execute(r request) {
	var req executeRequest
	reply := &executeReply{}
	if err := r.f.decode(&req); err != nil {
		reply.Result.Error = protocol.NewError(protocol.Generic, err.Error())
	} else {
		reply.Result = s.sess.Execute(r.ctx, req.Request, &relay{s: s, seq: r.f.seq})
	}
	r.cancel()
	s.mu.Lock()
	delete(s.runs, r.f.seq)
	s.mu.Unlock()
	s.addDecls(&reply.state)
	s.addValues(&reply.state)
	s.sendExecuteReply(r.f.seq, reply)
}

// sendExecuteReply sends reply, cut down until it can be sent: without
// the state when that is too large (reported again after the next cell),
// with a notice in place of a value too large, or with the error that
// kept it from being sent (a value JSON cannot carry, in user_expressions
// or metadata), rather than leave the kernel waiting.
func (s *server) sendExecuteReply(seq uint64, reply *executeReply) {
	err := s.enc.send(opReply, seq, reply, false)
	if errors.Is(err, errTooLong) && (reply.Changed || reply.Saved) {
		reply.state = state{}
		s.resendDecls, s.sentValues = true, ""
		(&relay{s: s, seq: seq}).Stream("stderr", "warning: the definitions and values of the notebook are too large to hand to the kernel; "+
			"if the interpreter process ends, the kernel restores those it was handed last\n")
		err = s.enc.send(opReply, seq, reply, false)
	}
	if errors.Is(err, errTooLong) && reply.Result.Data != nil {
		reply.Result.Data = protocol.Bundle{"text/plain": fmt.Sprintf("[the cell's value is not shown: %v]", errTooLong)}
		reply.Result.Metadata = nil
		err = s.enc.send(opReply, seq, reply, false)
	}
	if err != nil && !s.enc.failed() {
		reply.Result = protocol.ExecuteResult{Error: protocol.NewError(protocol.Generic, err.Error(), err.Error())}
		_ = s.enc.send(opReply, seq, reply, false)
	}
}

// values gives the variables the values of a values request.
func (s *server) values(f *frame) (any, error) {
	var req valuesRequest
	if err := f.decode(&req); err != nil {
		return nil, err
	}
	reply := &valuesReply{}
	if vk, ok := s.sess.(valueKeeper); ok {
		reply.Restored, reply.Failed = vk.RestoreValues(req.Values)
	}
	s.sentValues = ""
	s.addValues(&reply.state)
	return reply, nil
}

// restore restores the declarations of a restore request.
func (s *server) restore(r request) (any, error) {
	var req restoreRequest
	if err := r.f.decode(&req); err != nil {
		return nil, err
	}
	reply := &restoreReply{}
	for _, err := range s.sess.Restore(r.ctx, req.Decls) {
		reply.Failed = append(reply.Failed, err.Error())
	}
	s.resendDecls = true // what the restore kept, all of it
	s.addDecls(&reply.state)
	return reply, nil
}

// code answers a complete, inspect or is_complete request.
func (s *server) code(f *frame) (any, error) {
	var req codeRequest
	if err := f.decode(&req); err != nil {
		return nil, err
	}
	switch f.op {
	case opComplete:
		return s.sess.Complete(req.Code, req.Cursor), nil
	case opInspect:
		return s.sess.Inspect(req.Code, req.Cursor, req.Detail), nil
	}
	return s.sess.IsComplete(req.Code), nil
}

// addDecls puts into st what the declarations in force gained since they
// were last reported (all of them when the kernel must start again from
// them): the kernel process applies the same additions to its copy.
func (s *server) addDecls(st *state) {
	d, all := s.sess.DeclChanges()
	if s.resendDecls {
		d, all = s.sess.Decls(), true
		s.resendDecls = false
	}
	if len(d) == 0 && !all {
		return
	}
	st.Decls, st.Changed, st.All = d, true, all
}

// addValues puts the variables' values into st when they changed since
// they were last reported.
func (s *server) addValues(st *state) {
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
	st.Values, st.Skipped, st.Saved = saved, skipped, true
}

// relay is the Publisher of one execution in the worker: it turns every
// call into a message to the kernel process.
type relay struct {
	s   *server
	seq uint64
}

// Stopping tells the kernel process that the interrupted execution has
// stopped and is handing back its values (opStopping), which may take
// longer than the interrupt's grace.
func (p *relay) Stopping() { _ = p.s.enc.send(opStopping, p.seq, nil, false) }

// Stream sends text, in pieces of at most maxStreamPiece bytes cut
// between characters.
func (p *relay) Stream(name, text string) {
	for len(text) > 0 {
		n := len(text)
		if n > maxStreamPiece {
			n = maxStreamPiece
			for n > maxStreamPiece-utf8.UTFMax && !utf8.RuneStart(text[n]) {
				n--
			}
		}
		if p.s.enc.send(opStream, p.seq, streamOutput{Name: name, Text: text[:n]}, true) != nil {
			return
		}
		text = text[n:]
	}
}

func (p *relay) Display(data protocol.Bundle, metadata map[string]any, displayID string) {
	p.output(opDisplay, displayOutput{Data: data, Metadata: metadata, DisplayID: displayID})
}

func (p *relay) UpdateDisplay(data protocol.Bundle, metadata map[string]any, displayID string) {
	p.output(opUpdate, displayOutput{Data: data, Metadata: metadata, DisplayID: displayID})
}

func (p *relay) ClearOutput(wait bool) {
	p.output(opClear, clearOutput{Wait: wait})
}

// output sends an output; one that cannot be sent (a bundle JSON cannot
// carry, or too large) is reported on stderr.
func (p *relay) output(op string, body any) {
	if err := p.s.enc.send(op, p.seq, body, false); err != nil {
		p.Stream("stderr", err.Error()+"\n")
	}
}

func (p *relay) Input(ctx context.Context, prompt string, password bool) (string, error) {
	ch := make(chan inputReply, 1)
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
	if err := p.s.enc.send(opInput, id, inputRequest{Prompt: prompt, Password: password}, false); err != nil {
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
	var st syscall.Stat_t
	if err := syscall.Fstat(3, &st); err != nil {
		return errors.New("the interpreter process is started by perfnb kernel, with its pipes")
	}
	in, out, err := takePipes()
	if err != nil {
		return fmt.Errorf("the interpreter process cannot set its pipes up: %w", err)
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
