// Package worker is the main loop of the worker process, the process that
// runs cells: it serves a Session (runtime/session's) over the pipes that
// kernel/supervisor starts it with, in the protocol of internal/pipe,
// relaying each cell's outputs as they come.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/perfnb/perfnb/internal/pipe"
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
	f      *pipe.Frame
	ctx    context.Context
	cancel context.CancelFunc
}

// server is the worker's side of the protocol.
type server struct {
	sess Session
	exit func() // ends the process (see serve)
	enc  *pipe.Encoder
	// resendDecls says that the last report of the declarations did not
	// reach the kernel process: the next one sends them all.
	resendDecls bool
	// reported is what was last reported of the variables' values.
	reported pipe.Values

	mu     sync.Mutex
	runs   map[uint64]context.CancelFunc   // executions that have not ended
	inputs map[uint64]chan pipe.InputReply // input requests waiting for a reply
	nextIn uint64
}

// Serve runs the worker's side of the protocol for sess: it reads requests
// from in and writes answers and outputs to out, until a shutdown request
// (after which it returns nil) or the end of in, which means the kernel
// process has gone: then it interrupts the running cell, shuts sess down
// and returns; if the cell does not stop within a short grace period, it
// ends the process.
func Serve(sess Session, in io.Reader, out io.Writer) error {
	return serve(sess, in, out, func() { os.Exit(1) })
}

// serve is Serve, with exit the way to end the process when its kernel
// process has gone and the running cell does not stop.
func serve(sess Session, in io.Reader, out io.Writer, exit func()) error {
	s := &server{
		exit:   exit,
		sess:   sess,
		enc:    pipe.NewEncoder(out),
		runs:   map[uint64]context.CancelFunc{},
		inputs: map[uint64]chan pipe.InputReply{},
	}
	reqs := make(chan request, 16)
	go s.read(pipe.NewDecoder(in), reqs)
	if err := s.enc.Send(pipe.OpReady, 0, nil, false); err != nil {
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
func (s *server) read(dec *pipe.Decoder, reqs chan<- request) {
	defer close(reqs)
	for {
		f, err := dec.Next()
		if err != nil {
			s.cancelAll()
			time.AfterFunc(orphanGrace, s.exit)
			return
		}
		switch f.Op {
		case pipe.OpInterrupt:
			s.mu.Lock()
			if cancel := s.runs[f.Seq]; cancel != nil {
				cancel()
			}
			s.mu.Unlock()
		case pipe.OpInputReply:
			var r pipe.InputReply
			if err := f.Decode(&r); err != nil {
				r.Err = err.Error()
			}
			s.mu.Lock()
			ch := s.inputs[f.Seq]
			delete(s.inputs, f.Seq)
			s.mu.Unlock()
			if ch != nil {
				ch <- r
			}
		case pipe.OpExecute:
			ctx, cancel := context.WithCancel(context.Background())
			s.mu.Lock()
			s.runs[f.Seq] = cancel
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
	switch f.Op {
	case pipe.OpExecute:
		s.execute(r)
		return false
	case pipe.OpValues:
		reply, err = s.values(f)
	case pipe.OpRestore:
		reply, err = s.restore(r)
	case pipe.OpComplete, pipe.OpInspect, pipe.OpIsComplete:
		reply, err = s.code(f)
	case pipe.OpShutdown:
		var req pipe.ShutdownRequest
		err = f.Decode(&req)
		var e pipe.ErrorReply
		if err == nil {
			if serr := s.sess.Shutdown(req.Restart); serr != nil {
				e.Err = serr.Error()
			}
		}
		reply, stop = e, true
	default:
		err = fmt.Errorf("unknown request %.20q", f.Op)
	}
	if err != nil {
		reply = pipe.ErrorReply{Err: err.Error()}
	}
	_ = s.enc.Send(pipe.OpReply, f.Seq, reply, false)
	return stop
}

// execute runs a cell and answers with its result and the state it left.
func (s *server) execute(r request) {
	var req pipe.ExecuteRequest
	reply := &pipe.ExecuteReply{}
	if err := r.f.Decode(&req); err != nil {
		reply.Result.Error = protocol.NewError(protocol.Generic, err.Error())
	} else {
		reply.Result = s.sess.Execute(r.ctx, req.Request, &relay{s: s, seq: r.f.Seq})
	}
	r.cancel()
	s.mu.Lock()
	delete(s.runs, r.f.Seq)
	s.mu.Unlock()
	s.addDecls(&reply.State)
	s.addValues(&reply.State)
	s.sendExecuteReply(r.f.Seq, reply)
}

// sendExecuteReply sends reply, cut down until it can be sent: without
// the state when that is too large (reported again after the next cell),
// with a notice in place of a value too large, or with the error that
// kept it from being sent (a value JSON cannot carry, in user_expressions
// or metadata), rather than leave the kernel waiting.
func (s *server) sendExecuteReply(seq uint64, reply *pipe.ExecuteReply) {
	err := s.enc.Send(pipe.OpReply, seq, reply, false)
	if errors.Is(err, pipe.ErrTooLong) && (reply.Changed || reply.Saved) {
		reply.State = pipe.State{}
		s.resendDecls = true
		s.reported.Reset()
		(&relay{s: s, seq: seq}).Stream("stderr", "warning: the definitions and values of the notebook are too large to hand to the kernel; "+
			"if the interpreter process ends, the kernel restores those it was handed last\n")
		err = s.enc.Send(pipe.OpReply, seq, reply, false)
	}
	if errors.Is(err, pipe.ErrTooLong) && reply.Result.Data != nil {
		reply.Result.Data = protocol.Bundle{"text/plain": fmt.Sprintf("[the cell's value is not shown: %v]", pipe.ErrTooLong)}
		reply.Result.Metadata = nil
		err = s.enc.Send(pipe.OpReply, seq, reply, false)
	}
	if err != nil && !s.enc.Failed() {
		reply.Result = protocol.ExecuteResult{Error: protocol.NewError(protocol.Generic, err.Error(), err.Error())}
		_ = s.enc.Send(pipe.OpReply, seq, reply, false)
	}
}

// values gives the variables the values of a values request.
func (s *server) values(f *pipe.Frame) (any, error) {
	var req pipe.ValuesRequest
	if err := f.Decode(&req); err != nil {
		return nil, err
	}
	reply := &pipe.ValuesReply{}
	if vk, ok := s.sess.(valueKeeper); ok {
		reply.Restored, reply.Failed = vk.RestoreValues(req.Values)
	}
	s.reported.Reset()
	s.addValues(&reply.State)
	return reply, nil
}

// restore restores the declarations of a restore request.
func (s *server) restore(r request) (any, error) {
	var req pipe.RestoreRequest
	if err := r.f.Decode(&req); err != nil {
		return nil, err
	}
	reply := &pipe.RestoreReply{}
	for _, err := range s.sess.Restore(r.ctx, req.Decls) {
		reply.Failed = append(reply.Failed, err.Error())
	}
	s.resendDecls = true // what the restore kept, all of it
	s.addDecls(&reply.State)
	return reply, nil
}

// code answers a complete, inspect or is_complete request.
func (s *server) code(f *pipe.Frame) (any, error) {
	var req pipe.CodeRequest
	if err := f.Decode(&req); err != nil {
		return nil, err
	}
	switch f.Op {
	case pipe.OpComplete:
		return s.sess.Complete(req.Code, req.Cursor), nil
	case pipe.OpInspect:
		return s.sess.Inspect(req.Code, req.Cursor, req.Detail), nil
	}
	return s.sess.IsComplete(req.Code), nil
}

// addDecls puts into st what the declarations in force gained since they
// were last reported (all of them when the kernel must start again from
// them): the kernel process applies the same additions to its copy.
func (s *server) addDecls(st *pipe.State) {
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

// addValues puts into st what changed of the variables' values since
// they were last reported.
func (s *server) addValues(st *pipe.State) {
	vk, ok := s.sess.(valueKeeper)
	if !ok {
		return
	}
	saved, skipped := vk.SaveValues()
	s.reported.Report(st, saved, skipped)
}

// relay is the Publisher of one execution in the worker: it turns every
// call into a message to the kernel process.
type relay struct {
	s   *server
	seq uint64
}

// Stopping tells the kernel process that the interrupted execution has
// stopped and is handing back its values (pipe.OpStopping), which may take
// longer than the interrupt's grace.
func (p *relay) Stopping() { _ = p.s.enc.Send(pipe.OpStopping, p.seq, nil, false) }

// Stream sends text, in pieces of at most pipe.MaxStreamPiece bytes cut
// between characters.
func (p *relay) Stream(name, text string) {
	for len(text) > 0 {
		n := len(text)
		if n > pipe.MaxStreamPiece {
			n = pipe.MaxStreamPiece
			for n > pipe.MaxStreamPiece-utf8.UTFMax && !utf8.RuneStart(text[n]) {
				n--
			}
		}
		if p.s.enc.Send(pipe.OpStream, p.seq, pipe.StreamOutput{Name: name, Text: text[:n]}, true) != nil {
			return
		}
		text = text[n:]
	}
}

func (p *relay) Display(data protocol.Bundle, metadata map[string]any, displayID string) {
	p.output(pipe.OpDisplay, pipe.DisplayOutput{Data: data, Metadata: metadata, DisplayID: displayID})
}

func (p *relay) UpdateDisplay(data protocol.Bundle, metadata map[string]any, displayID string) {
	p.output(pipe.OpUpdate, pipe.DisplayOutput{Data: data, Metadata: metadata, DisplayID: displayID})
}

func (p *relay) ClearOutput(wait bool) {
	p.output(pipe.OpClear, pipe.ClearOutput{Wait: wait})
}

// output sends an output; one that cannot be sent (a bundle JSON cannot
// carry, or too large) is reported on stderr.
func (p *relay) output(op string, body any) {
	if err := p.s.enc.Send(op, p.seq, body, false); err != nil {
		p.Stream("stderr", err.Error()+"\n")
	}
}

func (p *relay) Input(ctx context.Context, prompt string, password bool) (string, error) {
	ch := make(chan pipe.InputReply, 1)
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
	if err := p.s.enc.Send(pipe.OpInput, id, pipe.InputRequest{Prompt: prompt, Password: password}, false); err != nil {
		return "", err
	}
	select {
	case r := <-ch:
		switch r.Err {
		case "":
			return r.Text, nil
		case pipe.InputNoStdin:
			return "", protocol.ErrStdinNotAllowed
		case pipe.InputCanceled:
			return "", context.Canceled
		}
		return "", errors.New(r.Err)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// TempDir returns the directory the kernel process gave this worker for
// its temporary files (see pipe.TempDirEnv), or "" when the worker was not
// started by a kernel process.
func TempDir() string { return os.Getenv(pipe.TempDirEnv) }

// ServeProcess is the main function of a worker process: it lowers the
// stack limit and serves sess on file descriptors 3 (requests) and 4
// (answers), as Supervisor starts it. SIGTERM (sent by Linux when the
// kernel process dies) shuts sess down and ends the process. However it
// ends, the process removes its temporary directory (TempDir) first.
func ServeProcess(sess Session) error {
	debug.SetMaxStack(harness.MaxStack)
	var st syscall.Stat_t
	if err := syscall.Fstat(3, &st); err != nil {
		return errors.New("the interpreter process is started by perfnb kernel, with its pipes")
	}
	in, out, err := takePipes()
	if err != nil {
		return fmt.Errorf("the interpreter process cannot set its pipes up: %w", err)
	}
	tmp := TempDir()
	exit := func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		os.Exit(1)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		time.AfterFunc(orphanGrace, exit)
		_ = sess.Shutdown(false)
		exit()
	}()
	err = serve(sess, in, out, exit)
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	return err
}
