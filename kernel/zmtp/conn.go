package zmtp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	greetingLen = 64
	flagMore    = 0x1
	flagLong    = 0x2
	flagCommand = 0x4
	// readBufferSize is the read buffer of a connection: most messages
	// arrive in one read.
	readBufferSize = 32 << 10
	// maxGather is the largest write that is copied into one buffer;
	// larger ones are written from the frames themselves (writev).
	maxGather = 64 << 10
	// writeTimeout bounds how long a Router's send waits for a peer
	// whose socket buffer is full; a peer that stalls that long is
	// disconnected. (A Pub queues instead: see queue.go.)
	writeTimeout = 5 * time.Second
)

// errProtocol is the cause of a disconnection for bytes that are not
// ZMTP 3.
var errProtocol = errors.New("not a ZMTP 3 peer")

// conn is one accepted connection: it reads messages and writes them.
type conn struct {
	raw net.Conn
	r   *bufio.Reader
	lim *Limits

	// Set by the handshake.
	peerType string
	identity string

	// The message being read: the bytes allocated for it, and the part
	// of them reserved in lim.Pending.
	allocated int64
	reserved  int64
	// inMsg is set while a message is read: each read of the connection
	// must then return within the stall timeout. deadline says a read
	// deadline is set; fixed, that the handshake set one for itself.
	inMsg, deadline, fixed bool

	// sendCommand writes a command the reader answers (PONG); a Pub
	// queues it behind the messages it is sending.
	sendCommand func(b []byte) error

	wmu  sync.Mutex // one write at a time
	wbuf []byte
	werr error
}

func newConn(raw net.Conn, lim *Limits) *conn {
	c := &conn{raw: raw, lim: lim}
	c.r = bufio.NewReaderSize(stallReader{c}, readBufferSize)
	c.sendCommand = c.send
	return c
}

// stallReader reads the connection under the stall timeout while a
// message is being read, and without a deadline between messages.
type stallReader struct{ c *conn }

func (s stallReader) Read(p []byte) (int, error) {
	c := s.c
	switch {
	case c.fixed:
	case c.inMsg:
		_ = c.raw.SetReadDeadline(time.Now().Add(c.lim.StallTimeout))
		c.deadline = true
	case c.deadline:
		_ = c.raw.SetReadDeadline(time.Time{})
		c.deadline = false
	}
	n, err := c.raw.Read(p)
	if ne, ok := err.(net.Error); ok && ne.Timeout() && c.inMsg && !c.fixed {
		err = fmt.Errorf("%w: no byte of a message begun for %v", ErrStalled, c.lim.StallTimeout)
	}
	return n, err
}

// handshake exchanges greetings and READY commands, within the handshake
// timeout, and checks that the peer's socket type is one of accept.
func (c *conn) handshake(own string, accept []string) error {
	_ = c.raw.SetDeadline(time.Now().Add(c.lim.HandshakeTimeout))
	c.fixed = true
	defer func() {
		_ = c.raw.SetDeadline(time.Time{})
		c.fixed = false
	}()
	props := map[string]string{"Socket-Type": own}
	if own == "ROUTER" {
		props["Identity"] = ""
	}
	// The greeting and READY go out together: NULL has nothing to wait for.
	out := appendCommand(greeting(), "READY", appendProperties(nil, props))
	if _, err := c.raw.Write(out); err != nil {
		return fmt.Errorf("cannot send the greeting: %w", err)
	}
	var g [greetingLen]byte
	if _, err := io.ReadFull(c.r, g[:]); err != nil {
		return fmt.Errorf("no greeting: %w", err)
	}
	if err := checkGreeting(g[:]); err != nil {
		return err
	}
	flags, body, err := c.readFrame(0, min(freeBytes, c.lim.MaxMessageSize), "READY command")
	defer c.release()
	if err != nil {
		return err
	}
	name, data, ok := splitCommand(body)
	if flags != flagCommand || !ok || name != "READY" {
		return fmt.Errorf("%w: the handshake does not start with READY", errProtocol)
	}
	peer, err := parseProperties(data)
	if err != nil {
		return err
	}
	c.peerType = peer["socket-type"]
	if !slices.Contains(accept, c.peerType) {
		return fmt.Errorf("%w: a %s socket cannot talk to a %q socket", errProtocol, own, c.peerType)
	}
	c.identity = peer["identity"]
	return nil
}

// greeting returns the ZMTP 3.0 greeting of a NULL socket.
func greeting() []byte {
	g := make([]byte, greetingLen, 256)
	g[0], g[9], g[10], g[11] = 0xff, 0x7f, 3, 0
	copy(g[12:32], "NULL")
	return g
}

// checkGreeting accepts a ZMTP 3 greeting (or later) with mechanism NULL.
func checkGreeting(g []byte) error {
	if g[0] != 0xff || g[9]&1 == 0 || g[10] < 3 {
		return fmt.Errorf("%w: the greeting is not ZMTP 3", errProtocol)
	}
	if mech := string(bytes.TrimRight(g[12:32], "\x00")); mech != "NULL" {
		return fmt.Errorf("%w: security mechanism %q; the kernel speaks NULL only", errProtocol, mech)
	}
	return nil
}

// parseProperties decodes the metadata of a READY command; names are
// lowercased.
func parseProperties(b []byte) (map[string]string, error) {
	props := map[string]string{}
	for len(b) > 0 {
		n := int(b[0])
		b = b[1:]
		if n == 0 || len(b) < n+4 {
			return nil, fmt.Errorf("%w: the READY metadata are cut short", errProtocol)
		}
		name := strings.ToLower(string(b[:n]))
		size := binary.BigEndian.Uint32(b[n:])
		b = b[n+4:]
		if uint64(size) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: the READY metadata are cut short", errProtocol)
		}
		props[name] = string(b[:size])
		b = b[size:]
	}
	return props, nil
}

func appendProperties(b []byte, props map[string]string) []byte {
	for _, name := range slices.Sorted(maps.Keys(props)) {
		b = append(b, byte(len(name)))
		b = append(b, name...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(props[name])))
		b = append(b, props[name]...)
	}
	return b
}

// splitCommand splits a command frame's body into its name and data.
func splitCommand(body []byte) (name string, data []byte, ok bool) {
	if len(body) == 0 || len(body) < 1+int(body[0]) {
		return "", nil, false
	}
	return string(body[1 : 1+body[0]]), body[1+body[0]:], true
}

func appendHeader(b []byte, flags byte, size int) []byte {
	if size > 255 {
		b = append(b, flags|flagLong)
		return binary.BigEndian.AppendUint64(b, uint64(size))
	}
	return append(b, flags, byte(size))
}

func appendCommand(b []byte, name string, data []byte) []byte {
	b = appendHeader(b, flagCommand, 1+len(name)+len(data))
	b = append(b, byte(len(name)))
	b = append(b, name...)
	return append(b, data...)
}

// readFrame reads one frame of a message that already holds used bytes,
// refusing one that would make it larger than max before allocating it.
func (c *conn) readFrame(used, max int64, what string) (flags byte, body []byte, err error) {
	flags, err = c.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	c.inMsg = true
	if flags&^(flagMore|flagLong|flagCommand) != 0 {
		return 0, nil, fmt.Errorf("%w: invalid frame flags %#x", errProtocol, flags)
	}
	var size uint64
	if flags&flagLong != 0 {
		var b [8]byte
		if _, err := io.ReadFull(c.r, b[:]); err != nil {
			return 0, nil, err
		}
		size = binary.BigEndian.Uint64(b[:])
	} else {
		s, err := c.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		size = uint64(s)
	}
	if size > uint64(max-used) {
		return 0, nil, tooLarge(what, size+uint64(used), max)
	}
	if err := c.charge(frameCost); err != nil {
		return 0, nil, err
	}
	body, err = c.readBody(int(size))
	return flags &^ flagLong, body, err
}

// readBody reads a frame's body into a buffer that grows with the bytes
// that arrive, so that a peer cannot make the kernel allocate what it
// only announces.
func (c *conn) readBody(size int) ([]byte, error) {
	if size <= freeBytes {
		if err := c.charge(size); err != nil {
			return nil, err
		}
		b := make([]byte, size)
		_, err := io.ReadFull(c.r, b)
		return b, err
	}
	// Doubling from freeBytes: the allocations add up to less than
	// twice the bytes received.
	if err := c.charge(freeBytes); err != nil {
		return nil, err
	}
	b := make([]byte, 0, freeBytes)
	for {
		k, err := io.ReadFull(c.r, b[len(b):cap(b)])
		b = b[:len(b)+k]
		if err != nil {
			return nil, err
		}
		if len(b) == size {
			break
		}
		next := min(size, 2*cap(b))
		if err := c.charge(next - cap(b)); err != nil {
			return nil, err
		}
		b = append(make([]byte, 0, next), b...)
	}
	return b, nil
}

// charge counts n more bytes allocated for the message being read, and
// reserves them in the shared budget beyond the message's free bytes.
func (c *conn) charge(n int) error {
	c.allocated += int64(n)
	if over := c.allocated - freeBytes - c.reserved; over > 0 {
		if !c.lim.Pending.take(over) {
			return fmt.Errorf("%w: the kernel already holds too many bytes of incoming messages", ErrTooLarge)
		}
		c.reserved += over
	}
	return nil
}

// release forgets the message read last: its bytes are the handler's.
func (c *conn) release() {
	c.lim.Pending.give(c.reserved)
	c.allocated, c.reserved = 0, 0
	c.inMsg = false
}

// readMsg reads the next message and appends its frames to frames. A
// command that arrives between messages is handled: PING is answered, and
// SUBSCRIBE and CANCEL (ZMTP 3.1) are returned as the one-frame
// subscription messages of ZMTP 3.0, as are these messages themselves.
// Call release once done with the frames.
func (c *conn) readMsg(frames [][]byte) ([][]byte, error) {
	var used int64
	first := len(frames)
	for {
		flags, body, err := c.readFrame(used, c.lim.MaxMessageSize, "message")
		if err != nil {
			return nil, err
		}
		if flags&flagCommand != 0 {
			if len(frames) > first || flags&flagMore != 0 {
				return nil, fmt.Errorf("%w: a command inside a message", errProtocol)
			}
			sub, err := c.command(body)
			if err != nil {
				return nil, err
			}
			if sub != nil {
				return append(frames, sub), nil
			}
			c.release()
			continue
		}
		if len(frames)-first >= maxFrames {
			return nil, fmt.Errorf("%w: a message of more than %d frames", ErrTooLarge, maxFrames)
		}
		used += int64(len(body))
		frames = append(frames, body)
		if flags&flagMore == 0 {
			return frames, nil
		}
	}
}

// command handles a command received after the handshake. It returns the
// subscription message that a SUBSCRIBE or CANCEL stands for.
func (c *conn) command(body []byte) ([]byte, error) {
	name, data, ok := splitCommand(body)
	if !ok {
		return nil, fmt.Errorf("%w: a malformed command", errProtocol)
	}
	switch name {
	case "PING":
		if len(data) < 2 {
			return nil, fmt.Errorf("%w: a PING without TTL", errProtocol)
		}
		context := data[2:]
		if len(context) > 16 {
			context = context[:16]
		}
		return nil, c.sendCommand(appendCommand(nil, "PONG", context))
	case "SUBSCRIBE":
		return append([]byte{1}, data...), nil
	case "CANCEL":
		return append([]byte{0}, data...), nil
	case "ERROR":
		return nil, fmt.Errorf("the peer reported an error: %q", data)
	}
	return nil, nil // other commands mean nothing to a ROUTER or a PUB
}

// send writes bytes already encoded.
func (c *conn) send(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	_ = c.raw.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.raw.Write(b)
	return c.failed(err)
}

// sendMsgs writes messages with one system call. A message has at least
// one frame.
func (c *conn) sendMsgs(msgs ...[][]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	size, frames := 0, 0
	for _, m := range msgs {
		frames += len(m)
		for _, f := range m {
			size += 9 + len(f)
		}
	}
	_ = c.raw.SetWriteDeadline(time.Now().Add(writeTimeout))
	if size > maxGather {
		return c.failed(writeVectored(c.raw, msgs, frames))
	}
	b := c.wbuf[:0]
	for _, m := range msgs {
		for i, f := range m {
			var flags byte
			if i < len(m)-1 {
				flags = flagMore
			}
			b = appendHeader(b, flags, len(f))
			b = append(b, f...)
		}
	}
	c.wbuf = b
	_, err := c.raw.Write(b)
	return c.failed(err)
}

// writeVectored writes large messages from their frames, with headers in
// between (writev), instead of copying them.
func writeVectored(w net.Conn, msgs [][][]byte, frames int) error {
	iov := make(net.Buffers, 0, 2*frames)
	for _, m := range msgs {
		iov = append(iov, encodeMsg(m).bufs...)
	}
	_, err := iov.WriteTo(w)
	return err
}

// failed records a write error: a partly written message leaves no usable
// stream, so the connection is closed (its reader then ends).
func (c *conn) failed(err error) error {
	if err != nil {
		c.werr = err
		_ = c.raw.Close()
	}
	return err
}
