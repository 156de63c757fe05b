// Package supervisor runs the interpreter in a process of its own, so that
// nothing a cell does ends the kernel.
//
// The kernel process holds the sockets and the protocol; a Supervisor is
// its protocol.Interpreter. It starts a worker process (perfnb worker, which
// calls runtime/worker.ServeProcess with a runtime/session.Session) and
// relays every call to it over pipes: requests on the worker's file
// descriptor 3, answers and the cell's outputs on its descriptor 4, one
// message per line (internal/pipe),
// none longer than 128 MiB; the worker moves both pipes to close-on-exec
// descriptors before any cell runs, so that no process it starts inherits
// them. The worker's standard error is kept (its first 64 KiB and its
// last MiB): when Go's runtime ends the process (a stack overflow,
// concurrent map writes, running out of memory, a fault, a panic in a
// callback), its report there says why. The worker's death is noticed
// when the process exits, whatever still holds its pipes.
//
// When the worker dies during a cell, the cell fails with an error naming
// the cause (FatalError, or MemoryLimitExceeded), a fresh worker is
// started, and the declarations in force and the variables' values, which
// the worker reports after every execution that changed them, are
// restored in it quietly; the cell's traceback says what could not be
// restored. If no worker can be started then, the kernel keeps them and
// restores them in the worker it starts at the next request. A worker
// that dies while idle is replaced at once, and the death is reported on
// the last cell's output and on the next one. A worker that breaks the
// protocol (a message too long or malformed: only a cell writing to its
// pipes does that) is stopped, as if it had crashed.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/perfnb/perfnb/internal/pipe"
	"github.com/perfnb/perfnb/internal/selfexe"
	"github.com/perfnb/perfnb/kernel/history"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/harness"
)

// Timing of the supervision.
const (
	// stoppingGrace is how long an interrupted cell that said it stopped
	// may take to hand back its values (pipe.OpStopping).
	stoppingGrace = 2 * time.Minute
	// interruptGrace is how long an interrupted cell may take to stop
	// before its process is killed and replaced.
	interruptGrace = 500 * time.Millisecond
	// shutdownGrace is how long a worker may take to shut down (removing
	// the native workspace) before it is killed.
	shutdownGrace = 3 * time.Second
	// restoreTimeout bounds the restoring of the declarations: an
	// initialiser that never returns must not keep the kernel from
	// accepting cells.
	restoreTimeout = 30 * time.Second
	// callTimeout is Supervisor.callTimeout.
	callTimeout = 10 * time.Second
)

// Options configures a Supervisor.
type Options struct {
	// Command returns the command that starts a worker process: one that
	// calls runtime/worker.ServeProcess, which serves on its file
	// descriptors 3 and 4. Nil means this executable with the argument
	// "worker".
	Command func() *exec.Cmd
	// Info answers kernel_info without the worker.
	Info protocol.Info
	// MemoryLimit is the kernel's memory limit, in bytes: the worker
	// stops a cell whose heap passes it, and is killed when its resident
	// memory passes it by an eighth (its cell failing with
	// MemoryLimitExceeded). 0 means the default (see
	// sysmem.KernelLimitEnv); negative, no limit.
	MemoryLimit int64
	// Log receives the worker's standard error (crash reports included),
	// and its standard output; nil discards them.
	Log io.Writer
}

// Supervisor is a protocol.Interpreter that runs cells in a worker process
// and replaces the process when it dies.
type Supervisor struct {
	opts      Options
	limit     uint64 // the kernel's memory limit, in bytes; 0 for none
	threshold uint64 // resident bytes past which the worker is killed
	// callTimeout bounds how long a completion, an inspection or an
	// is_complete request holds the shell.
	callTimeout time.Duration

	mu       sync.Mutex // held by every call: one request at a time
	w        *worker
	startErr error
	decls    *cell.Store // the declarations in force, as the worker reported them
	// values are the variables' values as the worker last saved them,
	// at the end of cell valuesCell; skipped the variables it did not
	// save, with why.
	values     []harness.SavedVar
	valuesCell int
	skipped    []string
	notice     string // a death while idle, to report on the next cell
	deaths     int    // deaths since a cell last ran to its end
	// unrestored says that the declarations and values were not given to
	// a worker since the last one died (starting one failed): the next
	// worker started gets them.
	unrestored bool
	closed     bool
	seq        uint64

	cur     atomic.Pointer[worker] // the current worker, for Shutdown
	closing atomic.Bool            // Shutdown has begun: no more restarts

	histMu  sync.Mutex
	history history.History
}

var _ protocol.Interpreter = (*Supervisor)(nil)

// New starts a worker and returns its supervisor; the worker gets ready in
// the background while the kernel sets up its sockets.
func New(opts Options) (*Supervisor, error) {
	if opts.Command == nil {
		exe, err := selfexe.Path()
		if err != nil {
			return nil, fmt.Errorf("starting the interpreter process: %w", err)
		}
		opts.Command = func() *exec.Cmd { return exec.Command(exe, "worker") }
	}
	// A limit that cannot be read is the interpreter's to report, on every
	// cell, as it starts with the same setting; the kernel still serves.
	limit, threshold, _ := memoryLimit(opts.MemoryLimit)
	s := &Supervisor{decls: cell.NewStore(), opts: opts, limit: limit, threshold: threshold, callTimeout: callTimeout}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start()
	return s, s.startErr
}

// start starts a fresh worker (s.mu held).
func (s *Supervisor) start() {
	if prev := s.cur.Load(); prev != nil {
		// Its directory was removed as it ended, unless that failed (the
		// kernel process was out of descriptors): try again.
		os.RemoveAll(prev.tmp)
	}
	w, err := startWorker(s.opts.Command(), s.opts.Log)
	s.w, s.startErr = w, err
	if err != nil {
		s.w = nil
		return
	}
	s.cur.Store(w)
	if s.threshold > 0 {
		go watchMemory(w, s.threshold)
	}
	go s.watch(w)
}

// watch replaces w when it dies while no call is using it.
func (s *Supervisor) watch(w *worker) {
	<-w.dead
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != w || s.closed {
		return // a call has dealt with it
	}
	s.idleDeath(w)
}

// idleDeath reports the death of w, which was not running a cell, on the
// last cell's output, keeps the report for the next cell, and starts and
// restores a successor (s.mu held).
func (s *Supervisor) idleDeath(w *worker) {
	select {
	case <-w.ready:
	default:
		// It never got ready: nothing was lost, and restarting in a loop
		// would not help. The next call tries again.
		s.startErr = fmt.Errorf("the interpreter process could not start: %s", diagnose(w, s.limit).cause)
		s.w = nil
		return
	}
	d := diagnose(w, s.limit)
	msg := fmt.Sprintf("%s: %s\n    while no cell was running (in a goroutine or callback an earlier cell started): the interpreter process ended and was restarted\n",
		d.kind, d.cause)
	if pub, _ := w.publisher(); pub != nil {
		pub.Stream("stderr", msg)
	}
	notes := s.restart(true)
	s.notice = msg + strings.Join(notes, "\n") + "\n"
}

// ready returns a worker that is ready for a request, starting one (and
// restoring the declarations) if the last one died (s.mu held).
func (s *Supervisor) ready() (*worker, error) {
	if s.closed || s.closing.Load() {
		return nil, errors.New("the kernel is shutting down")
	}
	if s.w != nil && !s.w.alive() {
		s.idleDeath(s.w)
	}
	if s.w == nil && s.unrestored {
		notes := strings.Join(s.restart(false), "\n")
		if s.w == nil || s.unrestored {
			return nil, errors.New(strings.TrimPrefix(notes, "note: "))
		}
		s.notice += notes + "\n"
	}
	if s.w == nil {
		s.start()
		if s.startErr != nil {
			return nil, s.startErr
		}
	}
	select {
	case <-s.w.ready:
		return s.w, nil
	case <-s.w.dead:
		err := fmt.Errorf("the interpreter process could not start: %s", diagnose(s.w, s.limit).cause)
		s.w = nil
		return nil, err
	}
}

// restart replaces the dead worker by a fresh one and restores the
// declarations in it. It returns the notes for the cell: what was
// restored, and what could not be (s.mu held).
//
// A restored declaration can itself end the process again (an initialiser
// that starts a goroutine that crashes): idle says the worker died while
// no cell ran, which counts, as a death while restoring does, towards
// breaking such a loop. After a second such death with no cell run to its
// end in between, the variables are not restored (their initialisers are
// where such effects live), after a third nothing is. A death during a
// cell is that cell's doing, and does not count.
func (s *Supervisor) restart(idle bool) []string {
	if idle {
		s.deaths++
	}
	s.unrestored = true
	for {
		if s.closing.Load() {
			return nil
		}
		decls, lost := s.decls.Decls(), ""
		switch {
		case s.deaths == 2:
			decls = withoutVars(decls)
			lost = "the variables: the interpreter process ended again right after they were restored, so their initialisers were not run again"
		case s.deaths > 2:
			decls = nil
			lost = "anything: the interpreter process kept ending right after a restore"
		}
		s.start()
		if s.startErr != nil {
			return []string{fmt.Sprintf("note: %v; %s", s.startErr, keptNote)}
		}
		w, err := s.ready()
		if err != nil {
			return []string{fmt.Sprintf("note: %v; %s", err, keptNote)}
		}
		rep := restoreReport{decls: decls, lost: lost}
		rep.failed, err = s.restore(w, decls)
		if err == nil && s.deaths < 2 {
			err = s.restoreValues(w, &rep)
		}
		if err == nil {
			s.unrestored = false
			return restoreNotes(rep)
		}
		s.deaths = max(s.deaths, 1) + 1 // died restoring
	}
}

// keptNote says what happens to the state when no worker could be
// started.
const keptNote = "the kernel keeps the definitions and the variables' values, and restores them in the next interpreter process it starts (at the next request)"

// restore sends decls to w and returns the declarations that failed.
func (s *Supervisor) restore(w *worker, decls []cell.Decl) ([]string, error) {
	if len(decls) == 0 {
		s.decls = cell.NewStore()
		return nil, nil
	}
	var r pipe.RestoreReply
	if err := s.callRestoring(w, pipe.OpRestore, pipe.RestoreRequest{Decls: decls}, &r); err != nil {
		return nil, err
	}
	s.takeDecls(&r.State)
	return r.Failed, nil
}

// takeDecls applies to the kernel's copy of the declarations what the
// worker reported of its own: the declarations its store took since its
// last report, taken in the same order, or all of them.
func (s *Supervisor) takeDecls(st *pipe.State) {
	if !st.Changed {
		return
	}
	if st.All || s.decls == nil {
		s.decls = cell.NewStore()
	}
	s.decls.Add(st.Decls...)
}

// withoutVars returns decls without the variables.
func withoutVars(decls []cell.Decl) []cell.Decl {
	var out []cell.Decl
	for _, d := range decls {
		if d.Kind != cell.VarDecl {
			out = append(out, d)
		}
	}
	return out
}

// restoreValues gives the variables of w, just restored, the values last
// saved, and puts into rep the variables restored, the cell whose end
// they date from, and the variables whose values were not restored or not
// saved, with why. An error is the worker's death.
func (s *Supervisor) restoreValues(w *worker, rep *restoreReport) error {
	rep.skipped, rep.valuesCell = s.skipped, s.valuesCell
	if len(s.values) == 0 {
		return nil
	}
	var r pipe.ValuesReply
	if err := s.callRestoring(w, pipe.OpValues, pipe.ValuesRequest{Values: s.values}, &r); err != nil {
		return err
	}
	if r.Saved {
		s.values, s.skipped = r.ApplyValues(s.values), r.Skipped
	}
	rep.values, rep.valueFailed = r.Restored, r.Failed
	return nil
}

// callRestoring sends request op, a request of a restart, to w and
// decodes its answer, killing w if it takes longer than restoreTimeout.
func (s *Supervisor) callRestoring(w *worker, op string, body, answer any) error {
	s.seq++
	t := time.NewTimer(restoreTimeout)
	defer t.Stop()
	return w.call(op, s.seq, body, answer, t.C, true)
}

// restoreReport is what a restart gave the fresh interpreter.
type restoreReport struct {
	decls  []cell.Decl // the declarations given to it
	failed []string    // those that did not compile again, with why
	lost   string      // what was not even tried, or ""
	// values are the variables whose values were restored, as they were
	// when cell valuesCell ended; valueFailed and skipped the variables
	// whose values could not be restored or had not been saved, with why.
	values      []string
	valuesCell  int
	valueFailed []string
	skipped     []string
}

// restoreNotes words what a restart kept and lost.
func restoreNotes(r restoreReport) []string {
	note := "note: the interpreter was restarted in a fresh process. The definitions in force " +
		"(imports, types, functions, methods, constants, variables) were restored by running their declarations " +
		"again; goroutines still running are lost."
	if len(r.values) > 0 {
		note += fmt.Sprintf(" Variables with the values they had when %s ended: %s.", cell.File(r.valuesCell), nameList(r.values))
	}
	restored := map[string]bool{}
	for _, n := range r.values {
		restored[n] = true
	}
	var initial []string
	for _, d := range r.decls {
		if d.Kind == cell.VarDecl && !restored[d.Name] {
			initial = append(initial, d.Name)
		}
	}
	if len(initial) > 0 {
		note += " Variables back at their initial values: " + nameList(initial) + "."
	}
	notes := []string{note}
	if r.lost != "" {
		notes = append(notes, "note: not restored: "+r.lost)
	}
	for _, f := range r.failed {
		notes = append(notes, "note: not restored: "+f)
	}
	for _, f := range slices.Concat(r.skipped, r.valueFailed) {
		notes = append(notes, "note: value not restored: "+f)
	}
	return notes
}

// maxNamed is how many variables a restart's note names.
const maxNamed = 12

// nameList lists names, the first maxNamed of them and how many more
// there are.
func nameList(names []string) string {
	if len(names) > maxNamed {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:maxNamed], ", "), len(names)-maxNamed)
	}
	return strings.Join(names, ", ")
}

// Info describes the kernel, without asking the worker.
func (s *Supervisor) Info() protocol.Info { return s.opts.Info }

// Execute runs the cell in the worker, relaying its outputs to pub. An
// interrupt (ctx cancelled) is passed on; a cell that does not stop within
// interruptGrace has its process replaced. A worker that dies during the
// cell fails it with the cause, and is replaced.
func (s *Supervisor) Execute(ctx context.Context, req protocol.ExecuteRequest, pub protocol.Publisher) protocol.ExecuteResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := s.execute(ctx, req, pub)
	s.histMu.Lock()
	s.history.Record(req, res)
	s.histMu.Unlock()
	return res
}

func (s *Supervisor) execute(ctx context.Context, req protocol.ExecuteRequest, pub protocol.Publisher) protocol.ExecuteResult {
	w, err := s.ready()
	if err != nil {
		return failure(err.Error())
	}
	if s.notice != "" {
		pub.Stream("stderr", s.notice)
		s.notice = ""
	}
	s.seq++
	seq := s.seq
	w.setPublisher(ctx, pub)
	if err := w.enc.Send(pipe.OpExecute, seq, pipe.ExecuteRequest{Request: req}, false); err != nil {
		if !w.enc.Failed() {
			return failure(err.Error())
		}
		<-w.dead
		return s.died(w, req.ExecutionCount, false)
	}
	var kill <-chan time.Time
	killed := false
	done := ctx.Done()
	for {
		select {
		case f := <-w.replies:
			if f.Seq != seq {
				continue
			}
			var r pipe.ExecuteReply
			if err := f.Decode(&r); err != nil {
				return failure(err.Error())
			}
			s.take(&r, req.ExecutionCount)
			s.deaths = 0
			return r.Result
		case <-w.dead:
			select {
			case f := <-w.replies:
				var r pipe.ExecuteReply
				if f.Seq == seq && f.Decode(&r) == nil {
					s.take(&r, req.ExecutionCount)
					return r.Result
				}
			default:
			}
			return s.died(w, req.ExecutionCount, kill != nil)
		case <-done:
			done = nil
			_ = w.enc.Send(pipe.OpInterrupt, seq, nil, false)
			t := time.NewTimer(interruptGrace)
			defer t.Stop()
			kill = t.C
		case n := <-w.stopping:
			if n == seq && done == nil && !killed {
				t := time.NewTimer(stoppingGrace)
				defer t.Stop()
				kill = t.C
			}
		case <-kill:
			kill, killed = make(chan time.Time), true // now wait for the end
			w.kill()
		}
	}
}

// take keeps what the reply to the execution of cell count reports of
// the worker's state: its declarations and its variables' values, when
// they changed.
func (s *Supervisor) take(r *pipe.ExecuteReply, count int) {
	s.takeDecls(&r.State)
	if r.Saved {
		s.values, s.skipped, s.valuesCell = r.ApplyValues(s.values), r.Skipped, count
	}
}

// died is the result of cell count, during which w died: the cause, and
// what the restart kept. interrupted says the cell was killed because it
// did not stop when interrupted.
func (s *Supervisor) died(w *worker, count int, interrupted bool) protocol.ExecuteResult {
	d := diagnose(w, s.limit)
	notes := s.restart(false)
	if interrupted && w.memKill.Load() == 0 && !strings.HasPrefix(d.cause, "fatal error") {
		value := fmt.Sprintf("the cell was interrupted; it did not stop within %s, so its interpreter process was replaced", interruptGrace)
		tb := append([]string{"Interrupted: " + value}, notes...)
		return protocol.ExecuteResult{Error: protocol.NewError(protocol.Interrupted, value, tb...)}
	}
	return protocol.ExecuteResult{Error: d.cellError(count, notes)}
}

// failure is the result of a cell that could not run.
func failure(value string) protocol.ExecuteResult {
	return protocol.ExecuteResult{Error: protocol.NewError(protocol.Generic, value)}
}

// call relays a request other than execute and decodes its answer into
// answer; false when the worker cannot answer, or does not within
// callTimeout (the request is then abandoned: the shell must not wait on
// a worker that is slow to answer a completion).
func (s *Supervisor) call(op string, body, answer any) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.ready()
	if err != nil {
		return false
	}
	s.seq++
	t := time.NewTimer(s.callTimeout)
	defer t.Stop()
	return w.call(op, s.seq, body, answer, t.C, false) == nil
}

// Complete relays a complete_request.
func (s *Supervisor) Complete(code string, cursor int) protocol.Completion {
	var c protocol.Completion
	if s.call(pipe.OpComplete, pipe.CodeRequest{Code: code, Cursor: cursor}, &c) {
		return c
	}
	return protocol.Completion{CursorStart: cursor, CursorEnd: cursor}
}

// Inspect relays an inspect_request.
func (s *Supervisor) Inspect(code string, cursor, detailLevel int) protocol.Inspection {
	var in protocol.Inspection
	if s.call(pipe.OpInspect, pipe.CodeRequest{Code: code, Cursor: cursor, Detail: detailLevel}, &in) {
		return in
	}
	return protocol.Inspection{}
}

// IsComplete relays an is_complete_request.
func (s *Supervisor) IsComplete(code string) protocol.Completeness {
	var c protocol.Completeness
	if s.call(pipe.OpIsComplete, pipe.CodeRequest{Code: code}, &c) {
		return c
	}
	return protocol.Completeness{Status: "unknown"}
}

// History answers from the kernel process's own history, which outlives
// the workers.
func (s *Supervisor) History(q protocol.HistoryQuery) []protocol.HistoryEntry {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	return s.history.Query(q)
}

// Shutdown stops the worker: it removes its temporary files, and is killed
// if it has not ended within a grace period. A cell still running is
// stopped with it.
func (s *Supervisor) Shutdown(restart bool) error {
	s.closing.Store(true)
	w := s.cur.Load()
	locked := make(chan struct{})
	go func() {
		s.mu.Lock()
		close(locked)
	}()
	select {
	case <-locked:
	case <-time.After(shutdownGrace):
		// A call is stuck: end its worker, which ends the call.
		if w != nil {
			w.kill()
		}
		<-locked
	}
	defer s.mu.Unlock()
	s.closed = true
	if s.w == nil {
		return nil
	}
	w, s.w = s.w, nil
	return w.stop(restart, shutdownGrace)
}
