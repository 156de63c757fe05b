package zmtp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
)

// Pub is a PUB socket. A message is sent to every subscriber of its
// topic without waiting for any of them: it is written at once to a
// subscriber that has nothing queued (in the caller's goroutine, one
// system call for the messages of one Send, when the socket takes them),
// and otherwise queued for that subscriber, whose own goroutine writes
// its queue. A subscriber that does not read loses the messages beyond
// its queue's bounds (Limits.SendHWM, MaxQueued, Queued), as a ZeroMQ
// PUB drops at its high-water mark; neither the sender nor the other
// subscribers ever wait for it.
type Pub struct {
	srv server

	mu   sync.Mutex // serialises sends; guards subs, enc and sel
	subs []*subscriber
	enc  []*outMsg // the messages of the Send in progress, encoded once
	sel  []*outMsg // the ones a subscriber receives

	acct sync.Mutex // guards the refs of queued messages
}

// subscriber is one subscriber's connection, topics and queue.
type subscriber struct {
	out *outbox

	mu       sync.Mutex     // guards the fields below
	topics   map[string]int // subscriptions, counted as ZeroMQ counts them
	longest  int            // the longest topic ever subscribed
	cost     int64          // the subscriptions' bytes, subscriptionCost each included
	reserved int64          // the part of cost reserved in Limits.Pending
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
	s := &subscriber{out: newOutbox(p, c), topics: map[string]int{}}
	c.sendCommand = s.out.command
	go s.out.run()
	p.mu.Lock()
	p.subs = append(p.subs, s)
	p.mu.Unlock()
	defer p.drop(s)
	for {
		frames, err := c.readMsg(nil)
		if err == nil {
			err = s.change(frames, &p.srv.lim)
		}
		if err != nil {
			p.srv.ended(c, err)
			return
		}
		c.release()
	}
}

// change applies a subscription message: one frame, 1 (subscribe) or 0
// (cancel), then the topic. Other messages mean nothing to a PUB.
func (s *subscriber) change(frames [][]byte, lim *Limits) error {
	if len(frames) != 1 || len(frames[0]) == 0 {
		return nil
	}
	f := frames[0]
	topic := string(f[1:])
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f[0] {
	case 1:
		if s.topics[topic] > 0 {
			s.topics[topic]++
			return nil
		}
		if err := s.charge(int64(len(topic))+subscriptionCost, lim); err != nil {
			return err
		}
		s.topics[topic] = 1
		s.longest = max(s.longest, len(topic))
	case 0:
		switch n := s.topics[topic]; {
		case n > 1:
			s.topics[topic]--
		case n == 1:
			delete(s.topics, topic)
			s.charge(-int64(len(topic))-subscriptionCost, lim)
		}
	}
	return nil
}

// charge adds n bytes to the subscriptions' cost, within the connection's
// cap, and reserves in lim.Pending what goes beyond the free part (s.mu
// held). A negative n returns bytes.
func (s *subscriber) charge(n int64, lim *Limits) error {
	if s.cost+n > lim.MaxSubscriptions {
		return fmt.Errorf("%w: subscriptions of more than %d bytes", ErrTooLarge, lim.MaxSubscriptions)
	}
	s.cost += n
	want := max(s.cost-freeSubscriptions, 0)
	if d := want - s.reserved; d > 0 && !lim.Pending.take(d) {
		s.cost -= n
		return fmt.Errorf("%w: the kernel already holds too many bytes for its peers", ErrTooLarge)
	} else if d < 0 {
		lim.Pending.give(-d)
	}
	s.reserved = want
	return nil
}

// wants reports whether the subscriber subscribes to a prefix of topic:
// one lookup per prefix length, however many topics there are.
func (s *subscriber) wants(topic []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.topics) == 0 {
		return false
	}
	for n := 0; n <= min(len(topic), s.longest); n++ {
		if s.topics[string(topic[:n])] > 0 {
			return true
		}
	}
	return false
}

// drop forgets a subscriber, its subscriptions and its queue.
func (p *Pub) drop(s *subscriber) {
	p.mu.Lock()
	for i, x := range p.subs {
		if x == s {
			p.subs = append(p.subs[:i], p.subs[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	s.mu.Lock()
	p.srv.lim.Pending.give(s.reserved)
	s.reserved, s.cost, s.topics = 0, 0, nil
	s.mu.Unlock()
	s.out.close()
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

// Send sends messages, whose first frame is their topic, to every
// subscriber of their topics, without waiting for any: what a subscriber
// does not take at once is queued for it, or dropped beyond its bounds.
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
	enc := p.enc[:0]
	for range msgs {
		enc = append(enc, nil)
	}
	for _, s := range p.subs {
		sel := p.sel[:0]
		for i, frames := range msgs {
			if s.wants(frames[0]) {
				if enc[i] == nil {
					enc[i] = encodeMsg(frames)
				}
				sel = append(sel, enc[i])
			}
		}
		if len(sel) > 0 {
			s.out.push(sel)
		}
		p.sel = sel
	}
	clear(p.sel[:cap(p.sel)])
	clear(enc)
	p.enc = enc
	return nil
}

// Close stops listening and closes every subscriber's connection.
func (p *Pub) Close() error { return p.srv.close() }
