package kernel

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
)

// pubWriteTimeout bounds how long a publish waits for one subscriber whose
// socket buffer is full; a subscriber that stalls that long is dropped.
const pubWriteTimeout = 5 * time.Second

// pubSocket is the iopub PUB socket. zmq4's PUB queues every message for a
// writer goroutine, which on a busy machine waits for a thread until the
// publishing goroutine blocks: status busy then reached the client only
// after the cell had run. pubSocket writes in the caller's goroutine
// instead, one system call per message and subscriber (through
// gatherConn), and uses zmq4 only for the ZMTP handshake and framing.
type pubSocket struct {
	log *slog.Logger
	ln  net.Listener

	mu     sync.Mutex // serialises sends; guards subs and closed
	subs   []*pubSub
	closed bool
}

// pubSub is one subscriber's connection.
type pubSub struct {
	conn   *zmq4.Conn
	raw    net.Conn
	gc     *gatherConn
	mu     sync.Mutex
	topics map[string]struct{}
}

func newPubSocket(logger *slog.Logger) *pubSocket {
	return &pubSocket{log: logger}
}

// Listen binds the socket to a tcp:// or ipc:// endpoint and accepts
// subscribers in the background.
func (p *pubSocket) Listen(ep string) error {
	ln, err := listen(ep)
	if err != nil {
		return err
	}
	p.ln = ln
	go p.accept()
	return nil
}

// listen listens on a tcp:// or ipc:// endpoint.
func listen(ep string) (net.Listener, error) {
	network, addr, ok := strings.Cut(ep, "://")
	if !ok {
		return nil, fmt.Errorf("invalid endpoint %q", ep)
	}
	switch network {
	case "tcp":
	case "ipc":
		network = "unix"
	default:
		return nil, fmt.Errorf("unsupported transport %q", network)
	}
	return net.Listen(network, addr)
}

// Addr is the bound address.
func (p *pubSocket) Addr() net.Addr {
	if p.ln == nil {
		return nil
	}
	return p.ln.Addr()
}

func (p *pubSocket) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

// serve completes the handshake of a new subscriber, then reads its
// (un)subscriptions until it goes away.
func (p *pubSocket) serve(c net.Conn) {
	// Go sets TCP_NODELAY on every TCP connection.
	gc := newGatherConn(c)
	zc, err := zmq4.Open(gc, null.Security(), zmq4.Pub, nil, true, nil)
	if err != nil {
		p.log.Debug("iopub: handshake failed", "err", err)
		_ = c.Close()
		return
	}
	s := &pubSub{conn: zc, raw: c, gc: gc, topics: make(map[string]struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = c.Close()
		return
	}
	p.subs = append(p.subs, s)
	p.mu.Unlock()
	defer p.drop(s)
	for {
		msg, err := zc.RecvMsg()
		if err != nil {
			return
		}
		// ZMTP 3.0 subscriptions: one frame, 1 (subscribe) or 0
		// (cancel) followed by the topic.
		if len(msg.Frames) != 1 || len(msg.Frames[0]) == 0 {
			continue
		}
		f := msg.Frames[0]
		s.mu.Lock()
		switch f[0] {
		case 1:
			s.topics[string(f[1:])] = struct{}{}
		case 0:
			delete(s.topics, string(f[1:]))
		}
		s.mu.Unlock()
	}
}

// drop closes and forgets a subscriber.
func (p *pubSocket) drop(s *pubSub) {
	_ = s.raw.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.subs {
		if x == s {
			p.subs = append(p.subs[:i], p.subs[i+1:]...)
			break
		}
	}
}

func (s *pubSub) subscribed(topic string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.topics {
		if strings.HasPrefix(topic, t) {
			return true
		}
	}
	return false
}

// Send writes messages (the first frame of each is its topic) to every
// subscriber of their topics before returning, with one system call per
// subscriber.
func (p *pubSocket) Send(msgs ...[][]byte) error {
	for _, frames := range msgs {
		if len(frames) == 0 {
			return errors.New("iopub: empty message")
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return zmq4.ErrClosedConn
	}
	var stalled []*pubSub
	for _, s := range p.subs {
		_ = s.raw.SetWriteDeadline(time.Now().Add(pubWriteTimeout))
		s.gc.cork()
		var err error
		for _, frames := range msgs {
			if err == nil && s.subscribed(string(frames[0])) {
				err = s.conn.SendMsg(zmq4.NewMsgFrom(frames...))
			}
		}
		if e := s.gc.uncork(); err == nil {
			err = e
		}
		if err != nil {
			p.log.Warn("iopub: dropped a subscriber that does not read", "err", err)
			stalled = append(stalled, s)
		}
	}
	for _, s := range stalled {
		// serve's reader then ends and calls drop, which needs p.mu.
		_ = s.raw.Close()
	}
	return nil
}

// Close stops listening and closes every subscriber's connection.
func (p *pubSocket) Close() error {
	p.mu.Lock()
	p.closed = true
	subs := p.subs
	p.subs = nil
	p.mu.Unlock()
	for _, s := range subs {
		_ = s.raw.Close()
	}
	if p.ln != nil {
		return p.ln.Close()
	}
	return nil
}
