package kernel

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/perfnb/perfnb/kernel/protocol"
)

const (
	// streamFlushInterval bounds how long stream text waits in the buffer.
	streamFlushInterval = 50 * time.Millisecond
	// streamFlushSize is the buffered size that triggers a flush.
	streamFlushSize = 8 << 10
)

// cellPublisher is the Publisher of one execute_request: every message has
// the request as parent. Stream text is coalesced: the first write after a
// quiet period goes out at once, later ones are buffered and flushed every
// streamFlushInterval or streamFlushSize bytes, and before any other output.
type cellPublisher struct {
	k          *kernel
	parent     *message
	allowStdin bool

	mu        sync.Mutex
	name      string // the stream that buf holds text for
	buf       []byte
	lastFlush time.Time
	timer     *time.Timer
	done      bool // the cell has ended: publish at once
}

var _ protocol.Publisher = (*cellPublisher)(nil)

func newCellPublisher(k *kernel, parent *message, allowStdin bool) *cellPublisher {
	return &cellPublisher{k: k, parent: parent, allowStdin: allowStdin}
}

// Stream publishes text on stdout or stderr, coalescing small writes.
func (p *cellPublisher) Stream(name, text string) {
	if text == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		p.k.publish("stream", p.parent, map[string]any{"name": name, "text": text})
		return
	}
	if p.name != name {
		p.flushLocked(true)
		p.name = name
	}
	p.buf = append(p.buf, text...)
	switch since := time.Since(p.lastFlush); {
	case len(p.buf) >= streamFlushSize:
		p.flushLocked(false)
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

// flushLocked publishes the buffered text. Unless all is set, an
// incomplete UTF-8 sequence at the end stays in the buffer for the next
// write to complete.
func (p *cellPublisher) flushLocked(all bool) {
	if p.timer != nil && all {
		p.timer.Stop()
		p.timer = nil
	}
	n := len(p.buf)
	if !all {
		n = completeUTF8(p.buf)
	}
	if n == 0 {
		return
	}
	text := string(p.buf[:n])
	p.buf = append(p.buf[:0], p.buf[n:]...)
	p.lastFlush = time.Now()
	p.k.publish("stream", p.parent, map[string]any{"name": p.name, "text": text})
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

// finish flushes the streams; later writes (from goroutines the cell left
// running) are published at once.
func (p *cellPublisher) finish() {
	p.mu.Lock()
	p.flushLocked(true)
	p.done = true
	p.mu.Unlock()
}

// emit flushes the streams, then publishes one message, keeping the order.
func (p *cellPublisher) emit(msgType string, content map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked(true)
	p.k.publish(msgType, p.parent, content)
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
	return p.k.requestInput(ctx, p.parent, prompt, password)
}
