package zmtp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

const (
	// minBackoff and maxBackoff bound the pause of the accept loop after
	// an error (EMFILE: the process is out of descriptors).
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
)

// server is what a Router and a Pub share: the listener, the accept loop,
// the handshake and the set of connections.
type server struct {
	log    *slog.Logger
	lim    Limits
	own    string   // this socket's type
	accept []string // the peer types it talks to
	ln     net.Listener
	serve  func(*conn) // runs a connection after its handshake

	mu     sync.Mutex // guards conns, full and closed
	conns  map[*conn]struct{}
	full   bool // the last connection was refused for the cap
	closed bool
}

func newServer(logger *slog.Logger, lim Limits, own string, accept ...string) server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return server{log: logger, lim: lim.withDefaults(), own: own, accept: accept, conns: map[*conn]struct{}{}}
}

// listen binds a tcp:// or ipc:// endpoint and accepts connections in the
// background, each served by serve in a goroutine of its own.
func (s *server) listen(ep string, serve func(*conn)) error {
	network, addr, ok := strings.Cut(ep, "://")
	if !ok {
		return fmt.Errorf("invalid endpoint %q", ep)
	}
	switch network {
	case "tcp":
	case "ipc":
		network = "unix"
	default:
		return fmt.Errorf("unsupported transport %q", network)
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return err
	}
	s.start(ln, serve)
	return nil
}

// start accepts connections from ln in the background.
func (s *server) start(ln net.Listener, serve func(*conn)) {
	s.ln, s.serve = ln, serve
	go s.acceptLoop()
}

// addr is the bound address, or nil.
func (s *server) addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// acceptLoop accepts connections until the listener is closed. After an
// error (the process is out of descriptors, a connection was aborted) it
// pauses, longer each time up to a second, and tries again.
func (s *server) acceptLoop() {
	var pause time.Duration
	for {
		raw, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if pause == 0 {
				s.log.Warn("cannot accept connections: retrying", "type", s.own, "addr", s.ln.Addr(), "err", err)
			}
			pause = min(max(2*pause, minBackoff), maxBackoff)
			time.Sleep(pause)
			continue
		}
		if pause != 0 {
			s.log.Info("accepting connections again", "type", s.own, "addr", s.ln.Addr())
			pause = 0
		}
		c := newConn(raw, &s.lim)
		if !s.track(c) {
			_ = raw.Close()
			continue
		}
		go s.run(c)
	}
}

// track adds a connection, unless the socket is closed or has as many as
// it accepts.
func (s *server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if len(s.conns) >= s.lim.MaxConnections {
		if !s.full {
			s.log.Warn("refusing connections: the socket has as many as it accepts",
				"type", s.own, "addr", s.ln.Addr(), "max", s.lim.MaxConnections)
		}
		s.full = true
		return false
	}
	s.full = false
	s.conns[c] = struct{}{}
	return true
}

// run completes a connection's handshake, serves it, and forgets it.
func (s *server) run(c *conn) {
	defer s.forget(c)
	if err := c.handshake(s.own, s.accept); err != nil {
		s.log.Debug("handshake failed", "type", s.own, "peer", c.raw.RemoteAddr(), "err", err)
		return
	}
	s.serve(c)
}

// forget closes a connection and removes it.
func (s *server) forget(c *conn) {
	_ = c.raw.Close()
	c.release()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// ended logs why a served connection ended, if it was not a plain close.
func (s *server) ended(c *conn, err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	case errors.Is(err, ErrTooLarge), errors.Is(err, errProtocol), errors.Is(err, ErrStalled):
		s.log.Warn("disconnected a peer", "type", s.own, "peer", c.raw.RemoteAddr(), "err", err)
	default:
		s.log.Debug("connection ended", "type", s.own, "peer", c.raw.RemoteAddr(), "err", err)
	}
}

// isClosed reports whether close was called.
func (s *server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// close stops listening and closes every connection.
func (s *server) close() error {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = map[*conn]struct{}{}
	s.mu.Unlock()
	for c := range conns {
		_ = c.raw.Close()
	}
	if s.ln != nil {
		return s.ln.Close()
	}
	return nil
}
