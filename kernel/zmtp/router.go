package zmtp

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"slices"
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
// peer's connection, with the Peer it came from; a message sent is
// written in the caller's goroutine.
//
// A peer's identity is the one it announced, or a generated one (a zero
// byte and a counter) when it announced none. An answer goes back to the
// connection the request came from (Reply), whatever other connection
// announces the same identity. A message addressed by identity alone
// (Send) goes to the first connected peer that announced it: a later
// peer with the identity of a connected one does not take it over, as
// with ZeroMQ's default (ZMQ_ROUTER_HANDOVER unset), but it is served,
// and inherits the identity when the first one goes away, so that a
// client that reconnects before the kernel has seen its old connection
// close is answered on its new one.
type Router struct {
	srv     server
	handler func(from *Peer, frames [][]byte)

	mu    sync.Mutex // guards peers and next
	peers map[string][]*Peer
	next  uint32
}

// Peer is one connection of a Router, as its handler receives it with
// each message: Reply writes to that connection and no other.
type Peer struct {
	c  *conn
	id string
}

// NewRouter returns a Router that logs to logger (nil: nowhere).
func NewRouter(logger *slog.Logger, lim Limits) *Router {
	return &Router{srv: newServer(logger, lim, "ROUTER", "DEALER", "REQ", "ROUTER"), peers: map[string][]*Peer{}}
}

// Listen binds the socket to a tcp:// or ipc:// endpoint. Every message
// received is given to handler with the peer that sent it; the handler
// must not keep the connection from reading for long (queue the message)
// and must not modify the frames.
func (r *Router) Listen(ep string, handler func(from *Peer, frames [][]byte)) error {
	r.handler = handler
	return r.srv.listen(ep, r.serve)
}

// Addr is the bound address, or nil.
func (r *Router) Addr() net.Addr { return r.srv.addr() }

func (r *Router) serve(c *conn) {
	p := r.register(c)
	defer r.unregister(p)
	idFrame := []byte(p.id)
	for {
		frames, err := c.readMsg([][]byte{idFrame})
		if err != nil {
			r.srv.ended(c, err)
			return
		}
		r.handler(p, frames)
		c.release()
	}
}

// register gives a connection its identity and routes to it (after the
// connected peers with the same identity).
func (r *Router) register(c *conn) *Peer {
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
	p := &Peer{c: c, id: id}
	if len(r.peers[id]) > 0 {
		r.srv.log.Info("a second connection announces the identity of a connected peer: it gets no message addressed to that identity while the first is connected", "type", r.srv.own, "peer", c.raw.RemoteAddr())
	}
	r.peers[id] = append(r.peers[id], p)
	return p
}

// unregister stops routing to a peer.
func (r *Router) unregister(p *Peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rest := slices.DeleteFunc(r.peers[p.id], func(q *Peer) bool { return q == p })
	if len(rest) == 0 {
		delete(r.peers, p.id)
	} else {
		r.peers[p.id] = rest
	}
}

// Send writes a message to the peer that its first frame names, before
// returning.
func (r *Router) Send(frames [][]byte) error {
	return r.send(nil, frames, false)
}

// Reply writes a message to the peer from which a request came (frames,
// as for Send, start with its identity). If that connection has gone,
// the message goes to the peer that now holds the identity, as Send
// would send it.
func (r *Router) Reply(to *Peer, frames [][]byte) error {
	return r.send(to, frames, false)
}

// SendOrOnly is Send, except that a message whose identity names no peer
// goes to the only connected peer, if there is exactly one: a client that
// sets no identity on its shell and stdin sockets can still be asked for
// input.
func (r *Router) SendOrOnly(frames [][]byte) error {
	return r.send(nil, frames, true)
}

func (r *Router) send(to *Peer, frames [][]byte, orOnly bool) error {
	if len(frames) < 2 {
		return errors.New("a routed message needs an identity and a frame")
	}
	c := r.route(to, string(frames[0]), orOnly)
	if c == nil {
		if r.srv.isClosed() {
			return ErrClosed
		}
		return ErrUnknownPeer
	}
	return c.sendMsgs(frames[1:])
}

// route finds the connection for a message: to's, while it is connected,
// else the first peer with identity id, else with orOnly the only peer.
func (r *Router) route(to *Peer, id string, orOnly bool) *conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	holders := r.peers[id]
	if to != nil && slices.Contains(holders, to) {
		return to.c
	}
	if len(holders) > 0 {
		return holders[0].c
	}
	if orOnly && len(r.peers) == 1 {
		for _, only := range r.peers {
			if len(only) == 1 {
				return only[0].c
			}
		}
	}
	return nil
}

// Close stops listening and closes every connection.
func (r *Router) Close() error { return r.srv.close() }
