package supervisor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/harness"
)

// The two processes exchange messages, one per line: requests from the
// kernel process on the worker's file descriptor 3, answers and outputs
// from the worker on its descriptor 4. A line is the message's kind, its
// sequence number and its body, a JSON value of the type that the kind
// says (below), separated by spaces:
//
//	stream 7 {"name":"stdout","text":"hello\n"}
//
// Every request carries a sequence number; the answer (kind reply, whose
// body has the type of the request's answer) carries the same number, and
// so do the outputs of an execution and the input requests it makes. No
// line is longer than maxLine, in either direction: the worker cuts what
// it sends to fit (stream text in pieces, a result too large replaced by
// a notice), and the kernel process stops a worker that sends more, so
// that nothing a cell does in the worker can make the kernel process
// hold more than that.

// Message kinds, kernel process to worker, with their bodies and answers.
const (
	opExecute    = "execute"     // executeRequest; executeReply
	opComplete   = "complete"    // codeRequest; protocol.Completion
	opInspect    = "inspect"     // codeRequest; protocol.Inspection
	opIsComplete = "is_complete" // codeRequest; protocol.Completeness
	opRestore    = "restore"     // restoreRequest; restoreReply
	opValues     = "values"      // valuesRequest; valuesReply
	opShutdown   = "shutdown"    // shutdownRequest; errorReply
	opInterrupt  = "interrupt"   // no body: cancels execution Seq
	opInputReply = "input_reply" // inputReply: answers input request Seq
)

// Message kinds, worker to kernel process.
const (
	opReady   = "ready"   // no body: the worker has started its session
	opReply   = "reply"   // answers request Seq
	opStream  = "stream"  // streamOutput: Publisher.Stream
	opDisplay = "display" // displayOutput: Publisher.Display
	opUpdate  = "update"  // displayOutput: Publisher.UpdateDisplay
	opClear   = "clear"   // clearOutput: Publisher.ClearOutput
	opInput   = "input"   // inputRequest: Publisher.Input; answered by opInputReply
	// opStopping (no body) says that the interrupted execution Seq has
	// stopped and is handing back its values (a compiled cell writing a
	// large map): the kernel process gives it stoppingGrace, not
	// interruptGrace.
	opStopping = "stopping"
)

// maxLine bounds a line of the protocol: twice the largest request the
// kernel accepts by default, so that the declarations a cell of that size
// makes fit in its reply.
const maxLine = 128 << 20

// maxStreamPiece bounds the stream text of one message; longer text is
// sent in pieces (even escaped, a piece stays far below maxLine).
const maxStreamPiece = 256 << 10

type executeRequest struct {
	Request protocol.ExecuteRequest `json:"request"`
}

type codeRequest struct {
	Code   string `json:"code"`
	Cursor int    `json:"cursor,omitempty"`
	Detail int    `json:"detail,omitempty"`
}

type restoreRequest struct {
	Decls []cell.Decl `json:"decls"`
}

type valuesRequest struct {
	Values []harness.SavedVar `json:"values"`
}

type shutdownRequest struct {
	Restart bool `json:"restart,omitempty"`
}

// state is what a reply reports of the worker's state, when it changed
// since the last report: the declarations in force (Changed set), the
// variables' values (Saved set) and the variables whose values were not
// saved, with why.
type state struct {
	// Decls are the declarations added since the last report (Changed
	// set), in the order the worker's store took them, or all of those
	// in force (All set too).
	Decls   []cell.Decl        `json:"decls,omitempty"`
	Changed bool               `json:"changed,omitempty"`
	All     bool               `json:"all,omitempty"`
	Values  []harness.SavedVar `json:"values,omitempty"`
	Saved   bool               `json:"saved,omitempty"`
	Skipped []string           `json:"skipped,omitempty"`
}

type executeReply struct {
	Result protocol.ExecuteResult `json:"result"`
	state
}

type restoreReply struct {
	// Failed lists the declarations that could not be restored, with why.
	Failed []string `json:"failed,omitempty"`
	state
}

type valuesReply struct {
	// Restored and Failed list the variables whose values were restored,
	// and the others with why.
	Restored []string `json:"restored,omitempty"`
	Failed   []string `json:"failed,omitempty"`
	state
}

// errorReply answers a request that can only fail (shutdown), or any
// request the worker does not know.
type errorReply struct {
	Err string `json:"err,omitempty"`
}

type streamOutput struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

type displayOutput struct {
	Data      protocol.Bundle `json:"data"`
	Metadata  map[string]any  `json:"metadata,omitempty"`
	DisplayID string          `json:"display_id,omitempty"`
}

type clearOutput struct {
	Wait bool `json:"wait,omitempty"`
}

type inputRequest struct {
	Prompt   string `json:"prompt"`
	Password bool   `json:"password,omitempty"`
}

// inputReply answers an input request: the line, or Err (errNoStdin or
// errCanceled for the Publisher's sentinel errors, else a message).
type inputReply struct {
	Text string `json:"text,omitempty"`
	Err  string `json:"err,omitempty"`
}

// Err values of an input reply that stand for the Publisher's sentinel
// errors.
const (
	errNoStdin  = "stdin not allowed"
	errCanceled = "canceled"
)

// errTooLong is the error for a message longer than maxLine.
var errTooLong = fmt.Errorf("a message between the kernel and interpreter processes is limited to %d MiB", maxLine>>20)

// frame is one message as read: its kind, sequence number and body.
type frame struct {
	op   string
	seq  uint64
	body []byte
}

// decode reads the body into v (integers of display data kept exact).
func (f *frame) decode(v any) error {
	if len(f.body) == 0 {
		return fmt.Errorf("a %s message without a body", f.op)
	}
	d := json.NewDecoder(bytes.NewReader(f.body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("a %s message with a malformed body: %w", f.op, err)
	}
	return nil
}

// streamDelay is how long stream text may wait in the writer's buffer, so
// that a cell printing in a loop makes one write per batch, not per line.
const streamDelay = 2 * time.Millisecond

// encoder writes messages through a buffer. Every message but stream text
// is flushed at once; stream text is flushed within streamDelay, or by the
// next other message, which keeps the order. It is safe for concurrent use.
type encoder struct {
	mu      sync.Mutex
	w       *bufio.Writer
	body    bytes.Buffer // the body being encoded
	enc     *json.Encoder
	timer   *time.Timer
	pending bool // a timed flush is scheduled
	err     error
}

func newEncoder(w io.Writer) *encoder {
	e := &encoder{w: bufio.NewWriterSize(w, 64<<10)}
	e.enc = json.NewEncoder(&e.body)
	e.enc.SetEscapeHTML(false)
	e.timer = time.AfterFunc(time.Hour, e.timedFlush)
	e.timer.Stop()
	return e
}

// send writes a message of kind op for request seq, with body (nil:
// none); lazy delays the flush (stream text). A body that JSON cannot
// carry (a channel in a display bundle) or that makes the line longer
// than maxLine is an error, and nothing is written.
func (e *encoder) send(op string, seq uint64, body any, lazy bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return e.err
	}
	e.body.Reset()
	if body != nil {
		if err := e.enc.Encode(body); err != nil {
			return fmt.Errorf("cannot pass the %s message between processes: %w", op, err)
		}
	}
	if len(op)+21+e.body.Len() > maxLine {
		return fmt.Errorf("cannot pass a %s message of %d MiB: %w", op, e.body.Len()>>20, errTooLong)
	}
	e.w.WriteString(op)
	e.w.WriteByte(' ')
	e.w.Write(strconv.AppendUint(nil, seq, 10))
	if body != nil {
		e.w.WriteByte(' ')
		e.w.Write(e.body.Bytes()) // ends with a newline
	} else {
		e.w.WriteByte('\n')
	}
	if e.body.Cap() > 1<<20 {
		e.body = bytes.Buffer{} // do not keep a large body's buffer
		e.enc = json.NewEncoder(&e.body)
		e.enc.SetEscapeHTML(false)
	}
	if lazy && e.w.Buffered() < 32<<10 {
		if !e.pending {
			e.pending = true
			e.timer.Reset(streamDelay)
		}
		return nil
	}
	e.err = e.w.Flush()
	return e.err
}

// failed reports whether a write failed: the other process has gone.
func (e *encoder) failed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err != nil
}

func (e *encoder) timedFlush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pending = false
	if e.err == nil {
		e.err = e.w.Flush()
	}
}

// decoder reads messages, none longer than maxLine.
type decoder struct {
	r *bufio.Reader
}

func newDecoder(r io.Reader) *decoder {
	return &decoder{r: bufio.NewReaderSize(r, 64<<10)}
}

// next reads one message. A line longer than maxLine, or one that is not
// a message, is an error after which the stream cannot be read on.
func (d *decoder) next() (*frame, error) {
	line, err := d.line()
	if err != nil {
		return nil, err
	}
	op, rest, _ := bytes.Cut(line, []byte{' '})
	num, body, _ := bytes.Cut(rest, []byte{' '})
	seq, err := strconv.ParseUint(string(num), 10, 64)
	if err != nil || len(op) == 0 {
		return nil, fmt.Errorf("not a message of the protocol: %.40q", line)
	}
	return &frame{op: string(op), seq: seq, body: body}, nil
}

// line reads a line, without its newline, into memory of its own.
func (d *decoder) line() ([]byte, error) {
	var long []byte
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(long)+len(chunk) > maxLine+1 {
			return nil, errTooLong
		}
		switch {
		case err == nil && long == nil:
			return bytes.Clone(chunk[:len(chunk)-1]), nil
		case err == nil:
			return append(long, chunk[:len(chunk)-1]...), nil
		case errors.Is(err, bufio.ErrBufferFull):
			long = append(long, chunk...)
		default:
			if len(long)+len(chunk) > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}
