package kernel

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
)

// errUnknownPeer is returned when a reply's identity names no connected
// peer (it went away): the reply is dropped, as a ZeroMQ ROUTER does.
var errUnknownPeer = errors.New("no connected peer has that identity")

// routerSocket is a ROUTER socket for the shell, control and stdin
// channels. zmq4's ROUTER hands each incoming message from the
// connection's reader goroutine to a queue read by another goroutine, and
// writes every reply from a goroutine of its own; on a busy machine each
// of those hand-offs waits for a thread. routerSocket instead gives each
// message to its handler in the connection's reader goroutine and writes
// a reply in the caller's goroutine, using zmq4 only for the ZMTP
// handshake and framing.
//
// As in ZeroMQ, a peer's identity is the one it announced, or a generated
// one (a zero byte and a counter) when it announced none; a new peer with
// the identity of a connected one takes it over (ROUTER_HANDOVER).
type routerSocket struct {
	log     *slog.Logger
	ln      net.Listener
	handler func(frames [][]byte)

	mu     sync.Mutex // guards peers, next and closed
	peers  map[string]*routerPeer
	next   uint32
	closed bool
}

// routerPeer is one connected peer.
type routerPeer struct {
	id   string
	conn *zmq4.Conn
	raw  net.Conn
	gc   *gatherConn
	wmu  sync.Mutex // one message at a time on the wire
}

func newRouterSocket(logger *slog.Logger) *routerSocket {
	return &routerSocket{log: logger, peers: make(map[string]*routerPeer)}
}

// Listen binds the socket to a tcp:// or ipc:// endpoint. Every message
// received, its identity frame first, is given to handler in the reader
// goroutine of the peer's connection; handler must not keep the socket
// from reading for long (queue the message).
func (r *routerSocket) Listen(ep string, handler func(frames [][]byte)) error {
	ln, err := listen(ep)
	if err != nil {
		return err
	}
	r.ln = ln
	r.handler = handler
	go r.accept()
	return nil
}

// Addr is the bound address.
func (r *routerSocket) Addr() net.Addr {
	if r.ln == nil {
		return nil
	}
	return r.ln.Addr()
}

func (r *routerSocket) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.serve(c)
	}
}

// serve completes the handshake of a new peer, then reads its messages
// until it goes away.
func (r *routerSocket) serve(c net.Conn) {
	gc := newGatherConn(c)
	zc, err := zmq4.Open(gc, null.Security(), zmq4.Router, nil, true, nil)
	if err != nil {
		r.log.Debug("handshake failed", "err", err)
		_ = c.Close()
		return
	}
	p := &routerPeer{conn: zc, raw: c, gc: gc, id: zc.Peer.Meta["Identity"]}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = c.Close()
		return
	}
	if p.id == "" {
		var b [5]byte
		r.next++
		binary.BigEndian.PutUint32(b[1:], r.next)
		p.id = string(b[:])
	}
	if old := r.peers[p.id]; old != nil {
		_ = old.raw.Close()
	}
	r.peers[p.id] = p
	r.mu.Unlock()
	defer r.drop(p)
	id := []byte(p.id)
	for {
		msg, err := zc.RecvMsg()
		if err != nil {
			return
		}
		if len(msg.Frames) == 0 {
			continue // a command (PING)
		}
		frames := make([][]byte, 0, len(msg.Frames)+1)
		frames = append(frames, id)
		r.handler(append(frames, msg.Frames...))
	}
}

// drop closes and forgets a peer (unless a newer one took its identity).
func (r *routerSocket) drop(p *routerPeer) {
	_ = p.raw.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers[p.id] == p {
		delete(r.peers, p.id)
	}
}

// Send writes a message to the peer that its first frame names, before
// returning.
func (r *routerSocket) Send(frames [][]byte) error {
	return r.send(frames, false)
}

// sendOrOnly is Send, except that a message whose identity names no peer
// goes to the only connected peer, if there is exactly one: a client that
// sets no identity on its shell and stdin sockets can still be asked for
// input.
func (r *routerSocket) sendOrOnly(frames [][]byte) error {
	return r.send(frames, true)
}

func (r *routerSocket) send(frames [][]byte, orOnly bool) error {
	if len(frames) < 2 {
		return errors.New("a routed message needs an identity and a frame")
	}
	r.mu.Lock()
	p := r.peers[string(frames[0])]
	if p == nil && orOnly && len(r.peers) == 1 {
		for _, only := range r.peers {
			p = only
		}
	}
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return zmq4.ErrClosedConn
	}
	if p == nil {
		return errUnknownPeer
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.raw.SetWriteDeadline(time.Now().Add(pubWriteTimeout))
	p.gc.cork()
	err := p.conn.SendMsg(zmq4.NewMsgFrom(frames[1:]...))
	if e := p.gc.uncork(); err == nil {
		err = e
	}
	if err != nil {
		_ = p.raw.Close() // a partly written message leaves no usable stream
		return err
	}
	return nil
}

// Close stops listening and closes every peer's connection.
func (r *routerSocket) Close() error {
	r.mu.Lock()
	r.closed = true
	peers := r.peers
	r.peers = map[string]*routerPeer{}
	r.mu.Unlock()
	for _, p := range peers {
		_ = p.raw.Close()
	}
	if r.ln != nil {
		return r.ln.Close()
	}
	return nil
}
