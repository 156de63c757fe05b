// Package zmtptest holds the byte streams of hostile ZMTP peers, for tests
// of the kernel's sockets at every level: package zmtp's own, the
// kernel's, and the end-to-end ones.
//
// It builds the bytes itself, independently of package zmtp, so that a
// mistake in zmtp's encoding is not repeated here.
package zmtptest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"
)

// MaxFrames is the number of frames in a message that package zmtp
// refuses to exceed.
const MaxFrames = 1 << 16

// Greeting is a client's ZMTP 3.1 greeting with the NULL mechanism.
func Greeting() []byte {
	g := make([]byte, 64)
	g[0], g[9], g[10], g[11] = 0xff, 0x7f, 3, 1
	copy(g[12:], "NULL")
	return g
}

// Command is a short command frame.
func Command(name string, data []byte) []byte {
	body := append([]byte{byte(len(name))}, name...)
	body = append(body, data...)
	return append(LongHeader(0x4, uint64(len(body))), body...)
}

// Ready is a client's READY command announcing sockType.
func Ready(sockType string) []byte {
	return Command("READY", property(nil, "Socket-Type", sockType))
}

// ReadyAs is a client's READY command announcing sockType and identity.
func ReadyAs(sockType, identity string) []byte {
	return Command("READY", property(property(nil, "Socket-Type", sockType), "Identity", identity))
}

func property(b []byte, name, value string) []byte {
	b = append(b, byte(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
	return append(b, value...)
}

// Frame is a short frame with flags (0x1 more).
func Frame(flags byte, body string) []byte {
	return append([]byte{flags, byte(len(body))}, body...)
}

// LongHeader is the header of a frame of size bytes, with flags (0x1
// more, 0x4 command).
func LongHeader(flags byte, size uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{flags | 0x2}, size)
}

// Hostile returns byte streams that a socket must answer by closing the
// connection, by name, for a socket that accepts peers of type peer, with
// a maximum message size of at most 1 MiB for "frames adding up to too
// much" and a handshake timeout for the half-open ones.
func Hostile(peer string) map[string][]byte {
	hello := append(Greeting(), Ready(peer)...)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return map[string][]byte{
		"a frame of 2^40 bytes":              join(hello, LongHeader(0, 1<<40)),
		"a frame of 2^64-1 bytes":            join(hello, LongHeader(0x1, 1<<64-1)),
		"a READY command of 2^40 bytes":      join(Greeting(), LongHeader(0x4, 1<<40)),
		"READY metadata cut short":           join(Greeting(), []byte{0x4, 8}, []byte("\x05READY\x01A")),
		"frames adding up to too much":       join(hello, LongHeader(0x1, 600<<10), make([]byte, 600<<10), LongHeader(0, 600<<10)),
		"too many frames":                    join(hello, bytes.Repeat([]byte{0x1, 0}, MaxFrames+1)),
		"reserved flag bits":                 join(hello, []byte{0xf0, 1, 'x'}),
		"a command inside a message":         join(hello, []byte{0x1, 1, 'x'}, Command("PING", []byte{0, 0})),
		"HTTP instead of ZMTP":               []byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" + string(make([]byte, 40))),
		"a ZMTP 2 greeting":                  join([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 1, 5}, make([]byte, 52)),
		"CURVE security":                     join(Greeting()[:12], []byte("CURVE"), make([]byte, 47)),
		"a socket type that does not fit":    join(Greeting(), Ready("PUSH")),
		"a command other than READY first":   join(Greeting(), Command("PING", []byte{0, 0})),
		"a message before the handshake":     join(Greeting(), []byte{0, 2, 'h', 'i'}),
		"a half-open handshake (no READY)":   Greeting(),
		"a half-open handshake (no byte)":    nil,
		"half a greeting":                    Greeting()[:20],
		"an ERROR command after a handshake": join(hello, Command("ERROR", []byte("\x03bad"))),
	}
}

// ClosedWithin reports whether the peer closes c within d; it reads and
// discards what the peer sends meanwhile.
func ClosedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}
