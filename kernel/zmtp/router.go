package zmtp

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync"
)

// ErrUnknownPeer is returned when a message's identity names no connected
// peer (it went away): the message is dropped, as a ZeroMQ ROUTER drops
// it.
var ErrUnknownPeer = errors.New("no connected peer has that identity")

// ErrClosed is returned by a send on a closed socket.
var ErrClosed = errors.New("the socket is closed")

// Router is a ROUTER socket. Every message received is given, its
// identity frame first, to the handler in the reader goroutine of the
// peer's connection; a message sent is written in the caller's goroutine.
//
// A peer's identity is the one it announced, or a generated one (a zero
// byte and a counter) when it announced none; a new peer with the
// identity of a connected one takes it over (ZMQ_ROUTER_HANDOVER).
type Router struct {
	srv     server
	handler func(frames [][]byte)

	mu    sync.Mutex // guards peers and next
	peers map[string]*conn
	next  uint32
}

// NewRouter returns a Router that logs to logger (nil: nowhere).
func NewRouter(logger *slog.Logger, lim Limits) *Router {
	return &Router{srv: newServer(logger, lim, "ROUTER", "DEALER", "REQ", "ROUTER"), peers: map[string]*conn{}}
}

// Listen binds the socket to a tcp:// or ipc:// endpoint. Every message
// received is given to handler, which must not keep the connection from
// reading for long (queue the message) and must not modify the frames.
func (r *Router) Listen(ep string, handler func(frames [][]byte)) error {
	r.handler = handler
	return r.srv.listen(ep, r.serve)
}

// Addr is the bound address, or nil.
func (r *Router) Addr() net.Addr { return r.srv.addr() }

func (r *Router) serve(c *conn) {
	id := r.register(c)
	defer r.unregister(id, c)
	idFrame := []byte(id)
	for {
		frames, err := c.readMsg([][]byte{idFrame})
		if err != nil {
			r.srv.ended(c, err)
			return
		}
		r.handler(frames)
		c.release()
	}
}

// register gives a connection its identity and routes to it.
func (r *Router) register(c *conn) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := c.identity
	if id == "" || id[0] == 0 {
		// Identities that start with a zero byte are the generated ones.
		var b [5]byte
		r.next++
		binary.BigEndian.PutUint32(b[1:], r.next)
		id = string(b[:])
	}
	if old := r.peers[id]; old != nil {
		_ = old.raw.Close()
	}
	r.peers[id] = c
	return id
}

// unregister stops routing to a connection (unless a newer one took its
// identity).
func (r *Router) unregister(id string, c *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers[id] == c {
		delete(r.peers, id)
	}
}

// Send writes a message to the peer that its first frame names, before
// returning.
func (r *Router) Send(frames [][]byte) error {
	return r.send(frames, false)
}

// SendOrOnly is Send, except that a message whose identity names no peer
// goes to the only connected peer, if there is exactly one: a client that
// sets no identity on its shell and stdin sockets can still be asked for
// input.
func (r *Router) SendOrOnly(frames [][]byte) error {
	return r.send(frames, true)
}

func (r *Router) send(frames [][]byte, orOnly bool) error {
	if len(frames) < 2 {
		return errors.New("a routed message needs an identity and a frame")
	}
	r.mu.Lock()
	c := r.peers[string(frames[0])]
	if c == nil && orOnly && len(r.peers) == 1 {
		for _, only := range r.peers {
			c = only
		}
	}
	r.mu.Unlock()
	if c == nil {
		if r.srv.isClosed() {
			return ErrClosed
		}
		return ErrUnknownPeer
	}
	return c.sendMsgs(frames[1:])
}

// Close stops listening and closes every connection.
func (r *Router) Close() error { return r.srv.close() }
