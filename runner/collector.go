package runner

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/perfnb/perfnb/internal/nbformat"
	"github.com/perfnb/perfnb/kernel/protocol"
)

// run is the state of one notebook run that outlives a cell: the display
// ids seen so far, which an update from any later cell may refer to, the
// outputs of each cell that ran, and the terminal. Its mutex guards every
// output of the notebook.
type run struct {
	mu       sync.Mutex
	displays map[string][]*output // display id → the outputs showing it
	ran      map[*nbformat.Cell]*collector
	progress *lineWriter
}

// collector is the protocol.Publisher of one execution of a cell: it
// turns what the interpreter publishes into the cell's nbformat outputs,
// as a Jupyter client would, and echoes the text to the terminal.
type collector struct {
	run          *run
	outputs      []*output
	clearPending bool // a clear_output(wait=True) waits for the next output
	closed       bool // the cell has finished; late outputs are dropped
}

var _ protocol.Publisher = (*collector)(nil)

// add appends o to the cell's outputs, first carrying out a pending
// clear_output. It must be called with r.mu held.
func (c *collector) add(o *output) {
	if c.clearPending {
		c.clearNow()
	}
	c.outputs = append(c.outputs, o)
}

// clearNow removes the cell's outputs and forgets their display ids. It
// must be called with r.mu held.
func (c *collector) clearNow() {
	c.clearPending = false
	for id, outs := range c.run.displays {
		outs = slices.DeleteFunc(outs, func(o *output) bool { return slices.Contains(c.outputs, o) })
		if len(outs) == 0 {
			delete(c.run.displays, id)
		} else {
			c.run.displays[id] = outs
		}
	}
	c.outputs = nil
}

// Stream appends text to the cell's last output when it is a stream of the
// same name, and adds a stream output otherwise.
func (c *collector) Stream(name, text string) {
	c.run.mu.Lock()
	defer c.run.mu.Unlock()
	if c.closed || text == "" {
		return
	}
	c.run.progress.write(text)
	if c.clearPending {
		c.clearNow()
	}
	if n := len(c.outputs); n > 0 {
		if last := c.outputs[n-1]; last.outputType == "stream" && last.name == name {
			last.text = append(last.text, text...)
			return
		}
	}
	c.add(&output{outputType: "stream", name: name, text: []byte(text)})
}

// Display adds a display_data output. Like Jupyter clients, a display
// with an id that is already shown also updates the earlier outputs.
func (c *collector) Display(data protocol.Bundle, metadata map[string]any, displayID string) {
	c.run.mu.Lock()
	defer c.run.mu.Unlock()
	if c.closed {
		return
	}
	c.run.progress.bundle("", data)
	o := &output{outputType: "display_data", data: data, metadata: metadata}
	if displayID != "" {
		c.updateLocked(data, metadata, displayID)
		c.run.displays[displayID] = append(c.run.displays[displayID], o)
	}
	c.add(o)
}

// UpdateDisplay replaces, in place, the data of every output shown
// earlier with displayID, in this cell or an earlier one.
func (c *collector) UpdateDisplay(data protocol.Bundle, metadata map[string]any, displayID string) {
	c.run.mu.Lock()
	defer c.run.mu.Unlock()
	if c.closed {
		return
	}
	c.updateLocked(data, metadata, displayID)
}

func (c *collector) updateLocked(data protocol.Bundle, metadata map[string]any, displayID string) {
	for _, o := range c.run.displays[displayID] {
		o.data = data
		o.metadata = metadata
	}
}

// ClearOutput clears the cell's outputs, at once or, with wait, when the
// next output arrives.
func (c *collector) ClearOutput(wait bool) {
	c.run.mu.Lock()
	defer c.run.mu.Unlock()
	if c.closed {
		return
	}
	if wait {
		c.clearPending = true
		return
	}
	c.clearNow()
}

// Input refuses: a notebook run has nobody to answer.
func (c *collector) Input(ctx context.Context, prompt string, password bool) (string, error) {
	return "", protocol.ErrStdinNotAllowed
}

// result adds the cell's execute_result.
func (c *collector) result(data protocol.Bundle, metadata map[string]any, count int) {
	c.run.mu.Lock()
	defer c.run.mu.Unlock()
	c.run.progress.bundle(fmt.Sprintf("Out[%d]: ", count), data)
	c.add(&output{outputType: "execute_result", data: data, metadata: metadata, executionCount: count})
}

// fail adds the cell's error output.
func (c *collector) fail(e *protocol.Error) {
	c.run.mu.Lock()
	defer c.run.mu.Unlock()
	c.run.progress.write(e.TracebackText())
	c.run.progress.endLine()
	c.add(&output{outputType: "error", ename: e.Name, evalue: e.Value, traceback: e.Lines()})
}

// close drops any output published after the cell has finished.
func (c *collector) close() {
	c.run.mu.Lock()
	defer c.run.mu.Unlock()
	c.closed = true
}

// lineWriter writes to the terminal and remembers whether the last thing
// written ended a line.
type lineWriter struct {
	w       io.Writer
	midLine bool
}

func (l *lineWriter) write(s string) {
	if s == "" {
		return
	}
	io.WriteString(l.w, s)
	l.midLine = !strings.HasSuffix(s, "\n")
}

// endLine starts a new line unless at the start of one.
func (l *lineWriter) endLine() {
	if l.midLine {
		l.write("\n")
	}
}

// bundle shows the text/plain of a bundle, or says which kinds of data it
// holds when it has no text.
func (l *lineWriter) bundle(prefix string, data protocol.Bundle) {
	text, ok := data["text/plain"].(string)
	if !ok {
		if b, isBytes := data["text/plain"].([]byte); isBytes {
			text, ok = string(b), true
		}
	}
	if !ok {
		mimes := make([]string, 0, len(data))
		for m := range data {
			mimes = append(mimes, m)
		}
		slices.Sort(mimes)
		text = "<" + strings.Join(mimes, ", ") + ">"
	}
	l.endLine()
	l.write(prefix + text)
	l.endLine()
}
