package supervisor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/harness"
)

// The two processes exchange JSON messages, one per line: requests from the
// kernel process on the worker's file descriptor 3, answers and outputs
// from the worker on its descriptor 4. Every request carries a sequence
// number; the answer carries the same number, and so do the outputs of an
// execution and the input requests it makes.

// Message kinds, kernel process to worker.
const (
	opExecute    = "execute"
	opComplete   = "complete"
	opInspect    = "inspect"
	opIsComplete = "is_complete"
	opRestore    = "restore"
	opValues     = "values" // give the restored variables the saved Values
	opShutdown   = "shutdown"
	opInterrupt  = "interrupt"   // cancels execution Seq
	opInputReply = "input_reply" // answers input request Seq
)

// Message kinds, worker to kernel process.
const (
	opReady   = "ready"   // the worker has started its session
	opReply   = "reply"   // answers request Seq
	opStream  = "stream"  // Publisher.Stream
	opDisplay = "display" // Publisher.Display
	opUpdate  = "update"  // Publisher.UpdateDisplay
	opClear   = "clear"   // Publisher.ClearOutput
	opInput   = "input"   // Publisher.Input; answered by opInputReply
)

// message is every message of the protocol; Op says which fields are set.
type message struct {
	Op  string `json:"op"`
	Seq uint64 `json:"seq,omitempty"`

	// execute
	Request *protocol.ExecuteRequest `json:"request,omitempty"`
	Result  *protocol.ExecuteResult  `json:"result,omitempty"`
	// Decls are the declarations in force: after an execution whose
	// declarations changed (Changed set), or the ones to restore.
	Decls   []cell.Decl `json:"decls,omitempty"`
	Changed bool        `json:"changed,omitempty"`
	// Failed lists the declarations a restore could not bring back, with why.
	Failed []string `json:"failed,omitempty"`
	// Values are the variables' values, after an execution whose values
	// changed (Saved set) or to restore; Skipped the variables whose
	// values were not saved, with why; Restored the variables a values
	// request restored (Failed: the others, with why).
	Values   []harness.SavedVar `json:"values,omitempty"`
	Saved    bool               `json:"saved,omitempty"`
	Skipped  []string           `json:"skipped,omitempty"`
	Restored []string           `json:"restored,omitempty"`

	// complete, inspect, is_complete
	Code         string                 `json:"code,omitempty"`
	Cursor       int                    `json:"cursor,omitempty"`
	Detail       int                    `json:"detail,omitempty"`
	Completion   *protocol.Completion   `json:"completion,omitempty"`
	Inspection   *protocol.Inspection   `json:"inspection,omitempty"`
	Completeness *protocol.Completeness `json:"completeness,omitempty"`

	// outputs
	Name      string          `json:"name,omitempty"` // stream name
	Text      string          `json:"text,omitempty"` // stream text, input line
	Data      protocol.Bundle `json:"data,omitempty"`
	Metadata  map[string]any  `json:"metadata,omitempty"`
	DisplayID string          `json:"display_id,omitempty"`
	Wait      bool            `json:"wait,omitempty"`
	Prompt    string          `json:"prompt,omitempty"`
	Password  bool            `json:"password,omitempty"`

	// Restart is the flag of a shutdown; Err the failure of a request
	// (errNoStdin or errCanceled for input, else a message).
	Restart bool   `json:"restart,omitempty"`
	Err     string `json:"err,omitempty"`
}

// Err values of an input reply that stand for the Publisher's sentinel
// errors.
const (
	errNoStdin  = "stdin not allowed"
	errCanceled = "canceled"
)

// streamDelay is how long stream text may wait in the writer's buffer, so
// that a cell printing in a loop makes one write per batch, not per line.
const streamDelay = 2 * time.Millisecond

// encoder writes messages through a buffer. Every message but stream text
// is flushed at once; stream text is flushed within streamDelay, or by the
// next other message, which keeps the order. It is safe for concurrent use.
type encoder struct {
	mu      sync.Mutex
	w       *bufio.Writer
	enc     *json.Encoder
	timer   *time.Timer
	pending bool // a timed flush is scheduled
	err     error
}

func newEncoder(w io.Writer) *encoder {
	bw := bufio.NewWriterSize(w, 64<<10)
	e := &encoder{w: bw, enc: json.NewEncoder(bw)}
	e.enc.SetEscapeHTML(false)
	e.timer = time.AfterFunc(time.Hour, e.timedFlush)
	e.timer.Stop()
	return e
}

// send writes m; lazy delays the flush (stream text).
func (e *encoder) send(m *message, lazy bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return e.err
	}
	if err := e.enc.Encode(m); err != nil {
		// A value that JSON cannot carry (a channel in a display bundle):
		// nothing was written for it, since Encode marshals first.
		return fmt.Errorf("cannot pass the %s message between processes: %w", m.Op, err)
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

func (e *encoder) timedFlush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pending = false
	if e.err == nil {
		e.err = e.w.Flush()
	}
}

// decoder reads messages.
type decoder struct {
	dec *json.Decoder
}

func newDecoder(r io.Reader) *decoder {
	d := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	d.UseNumber() // keep integers of display data exact
	return &decoder{dec: d}
}

// next reads one message.
func (d *decoder) next() (*message, error) {
	m := new(message)
	if err := d.dec.Decode(m); err != nil {
		return nil, err
	}
	return m, nil
}
