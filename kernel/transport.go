package kernel

import (
	"bufio"
	"context"
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// zmq4 reads every frame header and body with its own system call and
// writes a routed message frame by frame, so one reply costs a dozen
// writes and as many reads. The kernel binds its sockets through the
// transports below instead: the same tcp and ipc on the wire, with reads
// buffered and writes gathered into one system call per ZeroMQ message.

const (
	fastTCP = "perfnb-tcp"
	fastIPC = "perfnb-ipc"

	// zmtpGreetingLen is the size of the ZMTP 3 greeting that opens a
	// connection, before any frame.
	zmtpGreetingLen = 64
	// maxPendingWrite bounds the gathered bytes of a large message.
	maxPendingWrite = 64 << 10
	// writeSafetyFlush flushes gathered bytes that no message end has
	// flushed (it should never be needed).
	writeSafetyFlush = 5 * time.Millisecond
)

func init() {
	// zmq4 keeps a registry of transports; these names are ours alone.
	for name, network := range map[string]string{fastTCP: "tcp", fastIPC: "unix"} {
		if err := zmq4.RegisterTransport(name, gatherTransport{transport.New(network)}); err != nil {
			panic(err)
		}
	}
}

// fastEndpoint rewrites a tcp:// or ipc:// endpoint to use the gathering
// transports.
func fastEndpoint(ep string) string {
	switch {
	case len(ep) > 6 && ep[:6] == "tcp://":
		return fastTCP + ep[3:]
	case len(ep) > 6 && ep[:6] == "ipc://":
		return fastIPC + ep[3:]
	}
	return ep
}

// gatherTransport wraps a net transport's connections in gatherConns.
type gatherTransport struct{ transport.Transport }

func (t gatherTransport) Dial(ctx context.Context, d transport.Dialer, addr string) (net.Conn, error) {
	c, err := t.Transport.Dial(ctx, d, addr)
	if err != nil {
		return nil, err
	}
	return newGatherConn(c), nil
}

func (t gatherTransport) Listen(ctx context.Context, addr string) (net.Listener, error) {
	l, err := t.Transport.Listen(ctx, addr)
	if err != nil {
		return nil, err
	}
	return gatherListener{l}, nil
}

type gatherListener struct{ net.Listener }

func (l gatherListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newGatherConn(c), nil
}

// gatherConn buffers reads, and holds written bytes until a ZeroMQ message
// (or command, or the greeting) is complete, then writes them at once. It
// follows the ZMTP 3 framing of the outgoing byte stream to find the ends
// of messages.
type gatherConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	buf     []byte
	greet   int   // greeting bytes still to come
	state   uint8 // what the next byte is: see the zs constants
	more    bool  // the current frame has the MORE flag
	long    bool  // the current frame has an 8-byte size
	sizeBuf [8]byte
	sizeN   int    // size bytes read so far
	body    uint64 // body bytes still to come
	armed   bool   // the safety flush is scheduled
	corked  bool   // message ends do not flush: see cork
	timer   *time.Timer
	werr    error
}

const (
	zsFlag uint8 = iota
	zsSize
	zsBody
)

func newGatherConn(c net.Conn) *gatherConn {
	return &gatherConn{Conn: c, r: bufio.NewReaderSize(c, 32<<10), greet: zmtpGreetingLen}
}

func (c *gatherConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *gatherConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	c.buf = append(c.buf, p...)
	boundary := c.scan(p)
	if boundary && !c.corked || len(c.buf) >= maxPendingWrite {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	} else if len(c.buf) > 0 && !c.armed && !c.corked {
		c.armed = true
		if c.timer == nil {
			c.timer = time.AfterFunc(writeSafetyFlush, c.safetyFlush)
		} else {
			c.timer.Reset(writeSafetyFlush)
		}
	}
	return len(p), nil
}

// scan advances the framing state over p and reports whether p ends at
// the end of a message, a command or the greeting.
func (c *gatherConn) scan(p []byte) bool {
	end := false
	for len(p) > 0 {
		end = false
		if c.greet > 0 {
			n := min(c.greet, len(p))
			c.greet -= n
			p = p[n:]
			end = c.greet == 0
			continue
		}
		switch c.state {
		case zsFlag:
			f := p[0]
			p = p[1:]
			c.more = f&0x1 != 0 && f&0x4 == 0
			c.long = f&0x2 != 0
			c.sizeN = 0
			c.state = zsSize
		case zsSize:
			need := 1
			if c.long {
				need = 8
			}
			n := min(need-c.sizeN, len(p))
			copy(c.sizeBuf[c.sizeN:], p[:n])
			c.sizeN += n
			p = p[n:]
			if c.sizeN < need {
				continue
			}
			if c.long {
				c.body = binary.BigEndian.Uint64(c.sizeBuf[:])
			} else {
				c.body = uint64(c.sizeBuf[0])
			}
			c.state = zsBody
			if c.body == 0 {
				c.state = zsFlag
				end = !c.more
			}
		case zsBody:
			n := uint64(len(p))
			if n > c.body {
				n = c.body
			}
			c.body -= n
			p = p[n:]
			if c.body == 0 {
				c.state = zsFlag
				end = !c.more
			}
		}
	}
	return end
}

func (c *gatherConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	if c.armed {
		// Nothing is left for the safety flush: do not wake up for it.
		c.timer.Stop()
		c.armed = false
	}
	_, err := c.Conn.Write(c.buf)
	if cap(c.buf) > maxPendingWrite {
		c.buf = nil
	} else {
		c.buf = c.buf[:0]
	}
	if err != nil {
		c.werr = err
	}
	return err
}

// cork holds complete messages back until uncork, so that several
// messages go out in one system call.
func (c *gatherConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what cork held back.
func (c *gatherConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	return c.flushLocked()
}

func (c *gatherConn) safetyFlush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	_ = c.flushLocked()
}
