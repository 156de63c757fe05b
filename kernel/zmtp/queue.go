package zmtp

import (
	"net"
	"sync"
)

// outMsg is a message encoded once for every subscriber that receives it:
// its frames behind their headers, as the buffers of one writev. It is
// read-only once built; refs counts the queues that hold it (guarded by
// the Pub's acct).
type outMsg struct {
	bufs [][]byte
	size int64
	refs int
}

// encodeMsg encodes a message's frames; the frames are not copied.
func encodeMsg(frames [][]byte) *outMsg {
	headers := make([]byte, 0, 9*len(frames)) // never reallocated: the slices below stay valid
	bufs := make([][]byte, 0, 2*len(frames))
	var size int64
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags = flagMore
		}
		start := len(headers)
		headers = appendHeader(headers, flags, len(f))
		bufs = append(bufs, headers[start:len(headers):len(headers)])
		if len(f) > 0 {
			bufs = append(bufs, f)
		}
		size += int64(len(headers)-start) + int64(len(f))
	}
	return &outMsg{bufs: bufs, size: size}
}

// queued is a message waiting in a subscriber's queue, or what is left
// of it to write.
type queued struct {
	m    *outMsg
	bufs [][]byte
	size int64
}

// outbox is what a Pub holds for one subscriber: the messages waiting for
// it, and the goroutine that writes them.
type outbox struct {
	p *Pub
	c *conn

	mu      sync.Mutex // guards the fields below
	queue   []queued
	spare   []queued // the last batch written, reused
	gather  []byte   // direct's buffer, reused while no queue entry holds it
	bytes   int64    // of queue
	writing bool     // run is writing a batch taken from queue
	closed  bool
	dropped int64 // messages dropped since the last one queued

	wake chan struct{}
}

func newOutbox(p *Pub, c *conn) *outbox {
	return &outbox{p: p, c: c, wake: make(chan struct{}, 1)}
}

// behind reports whether messages for the subscriber wait or are being
// written (o.mu held).
func (o *outbox) behind() bool { return o.writing || len(o.queue) > 0 }

// push sends messages to the subscriber (the Pub's mu held): at once if
// nothing waits for it and the socket takes them, else into its queue.
func (o *outbox) push(sel []*outMsg) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	if !o.behind() && o.direct(sel) {
		return
	}
	for _, m := range sel {
		o.add(m, m.bufs, m.size)
	}
	o.signal()
}

// command queues a command (PONG) that the reader answers with, behind
// the messages already waiting, so that it never splits one.
func (o *outbox) command(b []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	m := &outMsg{bufs: [][]byte{b}, size: int64(len(b))}
	if !o.behind() && o.direct([]*outMsg{m}) {
		return nil
	}
	o.add(m, m.bufs, m.size)
	o.signal()
	return nil
}

// direct writes small messages to a subscriber with nothing queued, in
// the caller's goroutine and without waiting: one non-blocking write of
// them all. What the socket does not take is queued. It reports false
// for messages too large to gather, which go to the queue instead
// (o.mu held).
func (o *outbox) direct(sel []*outMsg) bool {
	var size int64
	for _, m := range sel {
		size += m.size
	}
	if size > maxGather {
		return false
	}
	b := o.gather[:0]
	for _, m := range sel {
		for _, f := range m.bufs {
			b = append(b, f...)
		}
	}
	o.gather = b
	n, err := tryWrite(o.c.raw, b)
	if err != nil {
		o.fail()
		return true
	}
	if n < len(b) {
		o.gather = nil // the queue holds the rest of it
		rest := &outMsg{bufs: [][]byte{b[n:]}, size: int64(len(b) - n)}
		o.add(rest, rest.bufs, rest.size)
		o.signal()
	}
	return true
}

// add queues what is left of m, unless the subscriber is behind and its
// queue is full, or the Pub's messages would exceed Limits.Queued: then
// m is dropped for this subscriber. A subscriber that is not behind
// always gets its message (o.mu held).
func (o *outbox) add(m *outMsg, bufs [][]byte, size int64) {
	lim := &o.p.srv.lim
	behind := o.behind()
	if behind && (len(o.queue) >= lim.SendHWM || o.bytes+size > lim.MaxQueued) || !o.p.hold(m, !behind) {
		if o.dropped == 0 {
			o.p.srv.log.Warn("a subscriber does not read as fast as the kernel publishes: dropping messages for it until it catches up",
				"type", o.p.srv.own, "peer", o.c.raw.RemoteAddr(), "queued", len(o.queue), "bytes", o.bytes)
		}
		o.dropped++
		return
	}
	o.dropped = 0
	o.queue = append(o.queue, queued{m: m, bufs: bufs, size: size})
	o.bytes += size
}

// signal wakes run.
func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// run writes the queue, a batch at a time, until the subscriber goes
// away. It may block on a subscriber that does not read; nothing else
// waits for it.
func (o *outbox) run() {
	var iov net.Buffers
	for {
		o.mu.Lock()
		for len(o.queue) == 0 && !o.closed {
			o.mu.Unlock()
			<-o.wake
			o.mu.Lock()
		}
		if o.closed {
			batch := o.queue
			o.queue, o.bytes = nil, 0
			o.mu.Unlock()
			o.p.release(batch)
			return
		}
		batch, size := o.queue, o.bytes
		o.queue, o.spare = o.spare[:0], nil
		o.writing = true
		o.mu.Unlock()

		iov = iov[:0]
		for _, q := range batch {
			iov = append(iov, q.bufs...)
		}
		_, err := iov.WriteTo(o.c.raw)
		clear(iov[:cap(iov)])
		o.p.release(batch)
		clear(batch)

		o.mu.Lock()
		o.writing = false
		o.bytes -= size
		o.spare = batch[:0]
		if err != nil {
			o.fail()
		}
		o.mu.Unlock()
	}
}

// fail ends the subscriber after a write error: a partly written message
// leaves no usable stream (o.mu held). Closing the connection ends its
// reader, which drops the subscriber.
func (o *outbox) fail() {
	o.closed = true
	_ = o.c.raw.Close()
	o.signal()
}

// close drops what waits and ends run.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.signal()
}

// hold counts a queue holding m, reserving its bytes in Limits.Queued
// when it is the first; past that budget it refuses, unless force.
func (p *Pub) hold(m *outMsg, force bool) bool {
	p.acct.Lock()
	defer p.acct.Unlock()
	if m.refs == 0 {
		q := p.srv.lim.Queued
		if !q.take(m.size) {
			if !force {
				return false
			}
			q.takeAnyway(m.size)
		}
	}
	m.refs++
	return true
}

// release counts the queues that no longer hold the messages of batch.
func (p *Pub) release(batch []queued) {
	p.acct.Lock()
	defer p.acct.Unlock()
	for _, q := range batch {
		if q.m.refs--; q.m.refs == 0 {
			p.srv.lim.Queued.give(q.m.size)
		}
	}
}
