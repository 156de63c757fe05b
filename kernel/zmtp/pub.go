package zmtp

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
)

// Pub is a PUB socket: a message is written to every subscriber of its
// topic in the caller's goroutine, with one system call per subscriber.
// A subscriber that does not read for a few seconds while the socket
// writes to it is disconnected.
type Pub struct {
	srv server

	mu   sync.Mutex // serialises sends; guards subs and sel
	subs []*subscriber
	sel  [][][]byte // the messages a subscriber receives, reused by Send
}

// subscriber is one subscriber's connection and topics.
type subscriber struct {
	c      *conn
	mu     sync.Mutex
	topics map[string]struct{}
}

// NewPub returns a Pub that logs to logger (nil: nowhere).
func NewPub(logger *slog.Logger, lim Limits) *Pub {
	return &Pub{srv: newServer(logger, lim, "PUB", "SUB", "XSUB")}
}

// Listen binds the socket to a tcp:// or ipc:// endpoint and accepts
// subscribers in the background.
func (p *Pub) Listen(ep string) error { return p.srv.listen(ep, p.serve) }

// Addr is the bound address, or nil.
func (p *Pub) Addr() net.Addr { return p.srv.addr() }

// serve reads a subscriber's (un)subscriptions until it goes away.
func (p *Pub) serve(c *conn) {
	s := &subscriber{c: c, topics: map[string]struct{}{}}
	p.mu.Lock()
	p.subs = append(p.subs, s)
	p.mu.Unlock()
	defer p.drop(s)
	for {
		frames, err := c.readMsg(nil)
		if err != nil {
			p.srv.ended(c, err)
			return
		}
		// A subscription is one frame: 1 (subscribe) or 0 (cancel),
		// then the topic.
		if len(frames) == 1 && len(frames[0]) > 0 {
			s.mu.Lock()
			switch f := frames[0]; f[0] {
			case 1:
				s.topics[string(f[1:])] = struct{}{}
			case 0:
				delete(s.topics, string(f[1:]))
			}
			s.mu.Unlock()
		}
		c.release()
	}
}

// drop forgets a subscriber.
func (p *Pub) drop(s *subscriber) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.subs {
		if x == s {
			p.subs = append(p.subs[:i], p.subs[i+1:]...)
			break
		}
	}
}

// Subscriptions is the number of topics that subscribers subscribe to.
func (p *Pub) Subscriptions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.subs {
		s.mu.Lock()
		n += len(s.topics)
		s.mu.Unlock()
	}
	return n
}

func (s *subscriber) subscribed(topic []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.topics {
		if strings.HasPrefix(string(topic), t) {
			return true
		}
	}
	return false
}

// Send writes messages, whose first frame is their topic, to every
// subscriber of their topics before returning.
func (p *Pub) Send(msgs ...[][]byte) error {
	for _, frames := range msgs {
		if len(frames) == 0 {
			return errors.New("a published message needs a topic frame")
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv.isClosed() {
		return ErrClosed
	}
	for _, s := range p.subs {
		sel := p.sel[:0]
		for _, frames := range msgs {
			if s.subscribed(frames[0]) {
				sel = append(sel, frames)
			}
		}
		p.sel = sel
		if len(sel) == 0 {
			continue
		}
		if err := s.c.sendMsgs(sel...); err != nil {
			// The connection is closed: serve ends and drops it.
			p.srv.log.Warn("iopub: disconnected a subscriber that does not read", "err", err)
		}
	}
	clear(p.sel)
	return nil
}

// Close stops listening and closes every subscriber's connection.
func (p *Pub) Close() error { return p.srv.close() }
