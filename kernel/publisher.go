package kernel

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/perfnb/perfnb/kernel/protocol"
)

const (
	// streamFlushInterval bounds how long stream text waits in the buffer.
	streamFlushInterval = 50 * time.Millisecond
	// streamFlushSize is the buffered size that triggers a flush.
	streamFlushSize = 64 << 10
	// maxStreamMessage bounds the text of one stream message: longer
	// text (a line of 256 MiB) goes out in pieces, so that the kernel
	// process holds one piece at a time.
	maxStreamMessage = 1 << 20
	// maxCellStream bounds the stream text published for one cell; what
	// the cell prints beyond it is counted, not sent, and a notice says
	// so. Front ends do not show that much text (the notebook server's
	// iopub_data_rate_limit drops it), and subscribers that do not keep
	// up would lose it anyway.
	maxCellStream = 64 << 20
)

// cellPublisher is the Publisher of one execute_request: every message has
// the request as parent. Stream text is coalesced: the first write after a
// quiet period goes out at once, later ones are buffered and flushed every
// streamFlushInterval or streamFlushSize bytes, and before any other output.
// A stream message holds at most maxStream bytes of text, and the cell's
// stream text at most maxTotal.
type cellPublisher struct {
	send       func(msgType string, content map[string]any) // publishes with the request as parent
	input      func(ctx context.Context, prompt string, password bool) (string, error)
	allowStdin bool
	maxStream  int
	maxTotal   int64

	mu        sync.Mutex
	name      string // the stream that buf holds text for
	buf       []byte
	lastFlush time.Time
	timer     *time.Timer
	done      bool  // the cell has ended: publish at once
	sent      int64 // stream text published
	dropped   int64 // stream text beyond maxTotal, not published
}

var _ protocol.Publisher = (*cellPublisher)(nil)

func newCellPublisher(k *kernel, parent *message, allowStdin bool) *cellPublisher {
	return &cellPublisher{
		send: func(msgType string, content map[string]any) { k.publish(msgType, parent, content) },
		input: func(ctx context.Context, prompt string, password bool) (string, error) {
			return k.requestInput(ctx, parent, prompt, password)
		},
		allowStdin: allowStdin,
		maxStream:  maxStreamMessage,
		maxTotal:   maxCellStream,
	}
}

// Stream publishes text on stdout or stderr, coalescing small writes and
// cutting long text into pieces.
func (p *cellPublisher) Stream(name, text string) {
	if text == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.name != name {
		p.flushLocked(true)
		p.name = name
	}
	for len(text) > 0 {
		n := min(len(text), max(p.maxStream-len(p.buf), 0))
		p.buf = append(p.buf, text[:n]...)
		text = text[n:]
		if len(p.buf) >= p.maxStream {
			p.flushLocked(false)
		}
	}
	switch since := time.Since(p.lastFlush); {
	case p.done, len(p.buf) >= streamFlushSize:
		p.flushLocked(p.done)
	case p.timer != nil:
		// a flush is already scheduled
	case since >= streamFlushInterval:
		p.flushLocked(false)
	default:
		p.timer = time.AfterFunc(streamFlushInterval-since, p.timedFlush)
	}
}

func (p *cellPublisher) timedFlush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	p.flushLocked(false)
}

// flushLocked publishes the buffered text, in pieces of at most
// maxStream bytes. Unless all is set, an incomplete UTF-8 sequence at the
// end stays in the buffer for the next write to complete.
func (p *cellPublisher) flushLocked(all bool) {
	if p.timer != nil && all {
		p.timer.Stop()
		p.timer = nil
	}
	n := len(p.buf)
	if !all {
		n = completeUTF8(p.buf)
	}
	for start := 0; start < n; {
		end := min(n, start+p.maxStream)
		if end < n {
			end = start + completeUTF8(p.buf[start:end])
			if end == start { // not UTF-8 at all: cut anywhere
				end = min(n, start+p.maxStream)
			}
		}
		p.publishStream(p.buf[start:end])
		start = end
	}
	if n > 0 {
		p.buf = append(p.buf[:0], p.buf[n:]...)
		p.lastFlush = time.Now()
	}
}

// publishStream publishes one piece of stream text, or the part of it
// within maxTotal, with a notice when the cap is reached.
func (p *cellPublisher) publishStream(b []byte) {
	if left := p.maxTotal - p.sent; int64(len(b)) > left {
		cut := int(max(left, 0))
		cut = completeUTF8(b[:cut])
		p.dropped += int64(len(b) - cut)
		if cut > 0 {
			p.publishStream(b[:cut])
		}
		if p.dropped == int64(len(b)-cut) { // the first text dropped
			p.send("stream", map[string]any{"name": "stderr", "text": fmt.Sprintf(
				"\n[perfnb: the cell's output passed %d MiB; the rest is not sent (the cell goes on running)]\n", p.maxTotal>>20)})
		}
		return
	}
	p.sent += int64(len(b))
	p.send("stream", map[string]any{"name": p.name, "text": string(b)})
}

// completeUTF8 returns the length of b without a trailing incomplete UTF-8
// sequence.
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}

// flush publishes buffered stream text now.
func (p *cellPublisher) flush() {
	p.mu.Lock()
	p.flushLocked(true)
	p.mu.Unlock()
}

// finish flushes the streams and says how much output was not sent;
// later writes (from goroutines the cell left running) are published at
// once.
func (p *cellPublisher) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked(true)
	p.done = true
	if p.dropped > 0 {
		p.send("stream", map[string]any{"name": "stderr", "text": fmt.Sprintf(
			"[perfnb: %d bytes of the cell's output were not sent]\n", p.dropped)})
	}
}

// emit flushes the streams, then publishes one message, keeping the order.
func (p *cellPublisher) emit(msgType string, content map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked(true)
	p.send(msgType, content)
}

// Display publishes display_data.
func (p *cellPublisher) Display(data protocol.Bundle, metadata map[string]any, displayID string) {
	p.emit("display_data", displayContent(data, metadata, displayID))
}

// UpdateDisplay publishes update_display_data.
func (p *cellPublisher) UpdateDisplay(data protocol.Bundle, metadata map[string]any, displayID string) {
	p.emit("update_display_data", displayContent(data, metadata, displayID))
}

func displayContent(data protocol.Bundle, metadata map[string]any, displayID string) map[string]any {
	if data == nil {
		data = protocol.Bundle{}
	}
	if metadata == nil {
		metadata = map[string]any{}
	}
	transient := map[string]any{}
	if displayID != "" {
		transient["display_id"] = displayID
	}
	return map[string]any{"data": data, "metadata": metadata, "transient": transient}
}

// ClearOutput publishes clear_output.
func (p *cellPublisher) ClearOutput(wait bool) {
	p.emit("clear_output", map[string]any{"wait": wait})
}

// Input asks the client for a line on the stdin channel.
func (p *cellPublisher) Input(ctx context.Context, prompt string, password bool) (string, error) {
	if !p.allowStdin {
		return "", protocol.ErrStdinNotAllowed
	}
	p.flush()
	return p.input(ctx, prompt, password)
}
