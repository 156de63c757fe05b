package interp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Interrupting a cell without stopping the goroutines of earlier cells.
//
// yaegi v0.16 cancels an evaluation by bumping one run id of the whole
// interpreter, which every interpreted frame compares at each step: every
// goroutine the cells started stops with the interrupted cell. So perfnb
// interrupts cooperatively first. The rewriter ends every loop body of
// interpreted code with pollStmt, a read of an int32 that is non-zero
// only while an interrupt is pending (about 16 ns an iteration, where an
// empty interpreted loop takes 28 ns); every goroutine a cell starts, and
// every time.AfterFunc and context.AfterFunc callback, marks itself as
// running in the background as it starts (GoBegin); and Poll, reached
// only while an interrupt is pending, panics with errCellInterrupted on
// any goroutine not so marked: the interrupted cell's. time.Sleep wakes
// that goroutine alone. (Marking the cell's own goroutine instead would
// cost every cell a call and a stack trace in the interpreter.) A cell
// that reaches no poll (blocked in a channel operation, a lock or a long
// call into compiled code; a recursion without loops; a loop body that
// always continues) is stopped after stopGrace with yaegi's own
// cancellation, which stops every goroutine, as before; the error then
// says so.

// stopGrace is how long a cell has to reach a poll after an interrupt
// before yaegi's cancellation stops the whole interpreter.
const stopGrace = 150 * time.Millisecond

// errCellInterrupted is the panic value that stops the interrupted cell's
// goroutine.
var errCellInterrupted = errors.New("perfnb: the cell was interrupted")

// stopper is the interrupt state that interpreted code polls.
type stopper struct {
	// flag is read by interpreted code through the pointer rt.Stop
	// (yaegi keeps the first value it reads of a variable of a compiled
	// package, but dereferences a pointer each time): non-zero while an
	// interrupt is pending. It is written atomically.
	flag int32
	bg   sync.Map // ids of the goroutines running in the background

	mu  sync.Mutex
	cur *stopEpoch
}

// stopEpoch is one interrupt: begun is closed when it starts, ended when
// the interrupted evaluation has returned.
type stopEpoch struct{ begun, ended chan struct{} }

func newStopper() *stopper {
	return &stopper{cur: &stopEpoch{begun: make(chan struct{}), ended: make(chan struct{})}}
}

// symbols are the stopper's names in perfnb's runtime package.
func (s *stopper) symbols() map[string]reflect.Value {
	return map[string]reflect.Value{
		"Stop": reflect.ValueOf(&s.flag),
		"Poll": reflect.ValueOf(s.poll),
	}
}

// goBegin marks the calling goroutine as running in the background and
// returns its id, for goEnd.
func (s *stopper) goBegin() int64 {
	id := goroutineID()
	s.bg.Store(id, true)
	return id
}

// goEnd forgets the background goroutine id.
func (s *stopper) goEnd(id int64) { s.bg.Delete(id) }

// poll panics with errCellInterrupted when an interrupt is pending and
// the caller is not a background goroutine: it is the interrupted cell's.
func (s *stopper) poll() {
	if atomic.LoadInt32(&s.flag) == 0 {
		return
	}
	if _, bg := s.bg.Load(goroutineID()); !bg {
		panic(errCellInterrupted)
	}
}

// epoch returns the current interrupt's channels.
func (s *stopper) epoch() *stopEpoch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// begin starts an interrupt.
func (s *stopper) begin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	atomic.StoreInt32(&s.flag, 1)
	close(s.cur.begun)
}

// end finishes the interrupt that begin started.
func (s *stopper) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	atomic.StoreInt32(&s.flag, 0)
	close(s.cur.ended)
	s.cur = &stopEpoch{begun: make(chan struct{}), ended: make(chan struct{})}
}

// goroutineID returns the id of the calling goroutine, from the first line
// of its stack trace ("goroutine 42 [running]:").
func goroutineID() int64 {
	var buf [32]byte
	b := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	var id int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}

// evalInterruptible evaluates code in yaegi, interrupting it when ctx is
// done: first cooperatively, then, if it has not returned within
// stopGrace, with yaegi's cancellation (stoppedAll is then true). An
// interrupted evaluation returns ctx's error.
func (i *Interp) evalInterruptible(ctx context.Context, code string) (v reflect.Value, stoppedAll bool, err error) {
	yctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	finished, watched := make(chan struct{}), make(chan struct{})
	var began, all bool
	stop := context.AfterFunc(ctx, func() {
		defer close(watched)
		i.stop.begin()
		began = true
		t := time.NewTimer(stopGrace)
		defer t.Stop()
		select {
		case <-finished:
		case <-t.C:
			all = true
			cancel()
		}
	})
	v, err = i.yi.EvalWithContext(yctx, code)
	forgetRoots(i.yi)
	close(finished)
	if !stop() {
		<-watched
	}
	if !began {
		return v, false, err
	}
	// An evaluation that an interrupt reached is interrupted, even if
	// it went on to its end (a read of standard input cut short).
	i.stop.end()
	return reflect.Value{}, all, ctx.Err()
}

// stoppedAllNote is the traceback line of an interrupt that had to stop
// the whole interpreter.
var stoppedAllNote = fmt.Sprintf("note: the cell did not reach a point where it could stop alone within %v "+
	"(it was blocked in a channel operation, a lock or compiled code), so every goroutine of the interpreter "+
	"was stopped with it, those earlier cells started included", stopGrace)
