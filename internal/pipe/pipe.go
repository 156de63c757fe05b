// Package pipe is the protocol between the kernel process and its worker:
// the kinds of message, their bodies, and the encoder and decoder of the
// lines that carry them. Both sides read it: kernel/supervisor in the
// kernel process, runtime/worker in the worker.
//
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
// line is longer than MaxLine, in either direction: the worker cuts what
// it sends to fit (stream text in pieces, a result too large replaced by
// a notice), and the kernel process stops a worker that sends more, so
// that nothing a cell does in the worker can make the kernel process
// hold more than that.
package pipe

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

// Message kinds, kernel process to worker, with their bodies and answers.
const (
	OpExecute    = "execute"     // ExecuteRequest; ExecuteReply
	OpComplete   = "complete"    // CodeRequest; protocol.Completion
	OpInspect    = "inspect"     // CodeRequest; protocol.Inspection
	OpIsComplete = "is_complete" // CodeRequest; protocol.Completeness
	OpRestore    = "restore"     // RestoreRequest; RestoreReply
	OpValues     = "values"      // ValuesRequest; ValuesReply
	OpShutdown   = "shutdown"    // ShutdownRequest; ErrorReply
	OpInterrupt  = "interrupt"   // no body: cancels execution Seq
	OpInputReply = "input_reply" // InputReply: answers input request Seq
)

// Message kinds, worker to kernel process.
const (
	OpReady   = "ready"   // no body: the worker has started its session
	OpReply   = "reply"   // answers request Seq
	OpStream  = "stream"  // StreamOutput: Publisher.Stream
	OpDisplay = "display" // DisplayOutput: Publisher.Display
	OpUpdate  = "update"  // DisplayOutput: Publisher.UpdateDisplay
	OpClear   = "clear"   // ClearOutput: Publisher.ClearOutput
	OpInput   = "input"   // InputRequest: Publisher.Input; answered by OpInputReply
	// OpStopping (no body) says that the interrupted execution Seq has
	// stopped and is handing back its values (a compiled cell writing a
	// large map): the kernel process gives it longer than an
	// interrupted cell that said nothing.
	OpStopping = "stopping"
)

// MaxLine bounds a line of the protocol: twice the largest request the
// kernel accepts by default, so that the declarations a cell of that size
// makes fit in its reply.
const MaxLine = 128 << 20

// TempDirEnv names the environment variable that gives the worker a
// directory of its own for its temporary files (the native workspace):
// the kernel process creates it as it starts the worker and removes it
// once the worker has ended, however it ended, so that a worker killed
// by a crash or the memory guard leaves nothing behind.
const TempDirEnv = "PERFNB_WORKER_TMPDIR"

// MaxStreamPiece bounds the stream text of one message; longer text is
// sent in pieces (even escaped, a piece stays far below MaxLine).
const MaxStreamPiece = 256 << 10

// ExecuteRequest is the body of an OpExecute request.
type ExecuteRequest struct {
	Request protocol.ExecuteRequest `json:"request"`
}

// CodeRequest is the body of an OpComplete, OpInspect or OpIsComplete
// request.
type CodeRequest struct {
	Code   string `json:"code"`
	Cursor int    `json:"cursor,omitempty"`
	Detail int    `json:"detail,omitempty"`
}

// RestoreRequest is the body of an OpRestore request: the declarations
// to evaluate again in a fresh worker.
type RestoreRequest struct {
	Decls []cell.Decl `json:"decls"`
}

// ValuesRequest is the body of an OpValues request: the values to give
// the variables of a fresh worker.
type ValuesRequest struct {
	Values []harness.SavedVar `json:"values"`
}

// ShutdownRequest is the body of an OpShutdown request.
type ShutdownRequest struct {
	Restart bool `json:"restart,omitempty"`
}

// State is what a reply reports of the worker's State, when it changed
// since the last report: the declarations in force (Changed set), the
// variables' values (Saved set) and the variables whose values were not
// saved, with why.
type State struct {
	// Decls are the declarations added since the last report (Changed
	// set), in the order the worker's store took them, or all of those
	// in force (All set too).
	Decls   []cell.Decl        `json:"decls,omitempty"`
	Changed bool               `json:"changed,omitempty"`
	All     bool               `json:"all,omitempty"`
	Values  []harness.SavedVar `json:"values,omitempty"`
	Saved   bool               `json:"saved,omitempty"`
	Skipped []string           `json:"skipped,omitempty"`
	// Delta (with Saved) says that Values holds only the variables whose
	// value changed or that are new since the last report, Dropped those
	// no longer saved, and Order, when set, the names of all the values
	// in the order a restore decodes them (see Values.Report).
	Delta   bool     `json:"delta,omitempty"`
	Dropped []string `json:"dropped,omitempty"`
	Order   []string `json:"order,omitempty"`
}

// ExecuteReply answers an OpExecute request: the cell's result and the
// state it left.
type ExecuteReply struct {
	Result protocol.ExecuteResult `json:"result"`
	State
}

// RestoreReply answers an OpRestore request.
type RestoreReply struct {
	// Failed lists the declarations that could not be restored, with why.
	Failed []string `json:"failed,omitempty"`
	State
}

// ValuesReply answers an OpValues request.
type ValuesReply struct {
	// Restored and Failed list the variables whose values were restored,
	// and the others with why.
	Restored []string `json:"restored,omitempty"`
	Failed   []string `json:"failed,omitempty"`
	State
}

// ErrorReply answers a request that can only fail (shutdown), or any
// request the worker does not know.
type ErrorReply struct {
	Err string `json:"err,omitempty"`
}

// StreamOutput is the body of an OpStream message.
type StreamOutput struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// DisplayOutput is the body of an OpDisplay or OpUpdate message.
type DisplayOutput struct {
	Data      protocol.Bundle `json:"data"`
	Metadata  map[string]any  `json:"metadata,omitempty"`
	DisplayID string          `json:"display_id,omitempty"`
}

// ClearOutput is the body of an OpClear message.
type ClearOutput struct {
	Wait bool `json:"wait,omitempty"`
}

// InputRequest is the body of an OpInput message: the cell reads a line.
type InputRequest struct {
	Prompt   string `json:"prompt"`
	Password bool   `json:"password,omitempty"`
}

// InputReply answers an input request: the line, or Err (InputNoStdin or
// InputCanceled for the Publisher's sentinel errors, else a message).
type InputReply struct {
	Text string `json:"text,omitempty"`
	Err  string `json:"err,omitempty"`
}

// Err values of an input reply that stand for the Publisher's sentinel
// errors.
const (
	InputNoStdin  = "stdin not allowed"
	InputCanceled = "canceled"
)

// ErrTooLong is the error for a message longer than MaxLine.
var ErrTooLong = fmt.Errorf("a message between the kernel and interpreter processes is limited to %d MiB", MaxLine>>20)

// Frame is one message as read: its kind, sequence number and body.
type Frame struct {
	Op   string
	Seq  uint64
	Body []byte
}

// Decode reads the body into v (integers of display data kept exact).
func (f *Frame) Decode(v any) error {
	if len(f.Body) == 0 {
		return fmt.Errorf("a %s message without a body", f.Op)
	}
	d := json.NewDecoder(bytes.NewReader(f.Body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("a %s message with a malformed body: %w", f.Op, err)
	}
	return nil
}

// streamDelay is how long stream text may wait in the writer's buffer, so
// that a cell printing in a loop makes one write per batch, not per line.
const streamDelay = 2 * time.Millisecond

// Encoder writes messages through a buffer. Every message but stream text
// is flushed at once; stream text is flushed within streamDelay, or by the
// next other message, which keeps the order. It is safe for concurrent use.
type Encoder struct {
	mu      sync.Mutex
	w       *bufio.Writer
	body    bytes.Buffer // the body being encoded
	enc     *json.Encoder
	timer   *time.Timer
	pending bool // a timed flush is scheduled
	err     error
}

// NewEncoder returns an encoder that writes to w.
func NewEncoder(w io.Writer) *Encoder {
	e := &Encoder{w: bufio.NewWriterSize(w, 64<<10)}
	e.enc = json.NewEncoder(&e.body)
	e.enc.SetEscapeHTML(false)
	e.timer = time.AfterFunc(time.Hour, e.timedFlush)
	e.timer.Stop()
	return e
}

// Send writes a message of kind op for request seq, with body (nil:
// none); lazy delays the flush (stream text). A body that JSON cannot
// carry (a channel in a display bundle) or that makes the line longer
// than MaxLine is an error, and nothing is written.
func (e *Encoder) Send(op string, seq uint64, body any, lazy bool) error {
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
	if len(op)+21+e.body.Len() > MaxLine {
		return fmt.Errorf("cannot pass a %s message of %d MiB: %w", op, e.body.Len()>>20, ErrTooLong)
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

// Failed reports whether a write Failed: the other process has gone.
func (e *Encoder) Failed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err != nil
}

func (e *Encoder) timedFlush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pending = false
	if e.err == nil {
		e.err = e.w.Flush()
	}
}

// Decoder reads messages, none longer than MaxLine.
type Decoder struct {
	r *bufio.Reader
}

// NewDecoder returns a decoder that reads from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next reads one message. A line longer than MaxLine, or one that is not
// a message, is an error after which the stream cannot be read on.
func (d *Decoder) Next() (*Frame, error) {
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
	return &Frame{Op: string(op), Seq: seq, Body: body}, nil
}

// line reads a line, without its newline, into memory of its own.
func (d *Decoder) line() ([]byte, error) {
	var long []byte
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(long)+len(chunk) > MaxLine+1 {
			return nil, ErrTooLong
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
