package zmtp

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/zmtp/zmtptest"
)

// The parsers of what unauthenticated peers send, fuzzed: none may panic,
// allocate beyond what Limits allow, or keep bytes of the Budget.

// bytesConn is a net.Conn that reads b, then EOF, and discards writes.
type bytesConn struct {
	r *bytes.Reader
}

func (c bytesConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c bytesConn) Close() error                     { return nil }
func (c bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c bytesConn) SetDeadline(time.Time) error      { return nil }
func (c bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c bytesConn) SetWriteDeadline(time.Time) error { return nil }
func newBytesConn(b []byte, lim *Limits) *conn       { return newConn(bytesConn{bytes.NewReader(b)}, lim) }
func fuzzLimits(budget *Budget) Limits {
	return Limits{MaxMessageSize: 1 << 20, Pending: budget}.withDefaults()
}
func seeds(f *testing.F, peer string, extra ...[]byte) {
	addSeeds(f, append(hostileSeeds(peer), extra...))
}

func addSeeds(f *testing.F, seeds [][]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
}

func hostileSeeds(peer string) [][]byte {
	var out [][]byte
	for _, b := range zmtptest.Hostile(peer) {
		if len(b) < 4096 {
			out = append(out, b)
		}
	}
	return out
}

// FuzzGreeting checks the greeting of a peer.
func FuzzGreeting(f *testing.F) {
	f.Add(zmtptest.Greeting())
	f.Add(greeting())
	f.Fuzz(func(t *testing.T, g []byte) {
		if len(g) != greetingLen {
			return
		}
		if err := checkGreeting(g); err == nil && (g[0] != 0xff || g[10] < 3) {
			t.Errorf("accepted a greeting that is not ZMTP 3: % x", g[:12])
		}
	})
}

// FuzzReadyProperties parses the metadata of a READY command.
func FuzzReadyProperties(f *testing.F) {
	f.Add(zmtptest.ReadyAs("DEALER", "id")[11:])
	f.Add([]byte("\x0bSocket-Type\x00\x00\x00\x03SUB"))
	f.Add([]byte("\x01A"))
	f.Fuzz(func(t *testing.T, b []byte) {
		props, err := parseProperties(b)
		if err != nil {
			return
		}
		n := 0
		for _, v := range props {
			n += 1 + 1 + 4 + len(v) // a name has a byte at least
		}
		if n > len(b) {
			t.Errorf("%d bytes of properties read from %d", n, len(b))
		}
	})
}

// FuzzHandshake runs a Router's handshake, then reads messages, on the
// bytes of a peer: the multipart path, commands and subscriptions.
func FuzzHandshake(f *testing.F) {
	hello := append(zmtptest.Greeting(), zmtptest.ReadyAs("DEALER", "me")...)
	seeds(f, "DEALER",
		append(bytes.Clone(hello), zmtptest.Frame(0x1, "a")...),
		append(append(bytes.Clone(hello), zmtptest.Frame(0x1, "")...), zmtptest.Frame(0, "end")...),
		append(bytes.Clone(hello), zmtptest.Command("PING", []byte{0, 1, 'x'})...),
		append(bytes.Clone(hello), zmtptest.Command("SUBSCRIBE", []byte("t"))...),
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		budget := NewBudget(4 << 20)
		lim := fuzzLimits(budget)
		c := newBytesConn(b, &lim)
		defer func() {
			c.release()
			if budget.Used() != 0 {
				t.Errorf("%d bytes of the budget kept", budget.Used())
			}
		}()
		if c.handshake("ROUTER", []string{"DEALER", "REQ", "ROUTER"}) != nil {
			return
		}
		for range 64 {
			frames, err := c.readMsg(nil)
			if err != nil {
				return
			}
			size := 0
			for _, fr := range frames {
				size += len(fr)
			}
			if int64(size) > lim.MaxMessageSize || len(frames) > maxFrames {
				t.Errorf("a message of %d bytes in %d frames", size, len(frames))
			}
			c.release()
		}
	})
}

// FuzzSubscriptions applies the subscription messages of a SUB peer (the
// bytes after its handshake) and checks what a subscriber holds.
func FuzzSubscriptions(f *testing.F) {
	hello := append(zmtptest.Greeting(), zmtptest.Ready("SUB")...)
	sub := func(cmd, topic string) []byte { return zmtptest.Command(cmd, []byte(topic)) }
	seeds(f, "SUB",
		append(bytes.Clone(hello), sub("SUBSCRIBE", "")...),
		bytes.Join([][]byte{hello, sub("SUBSCRIBE", "kernel."), sub("SUBSCRIBE", "kernel."), sub("CANCEL", "kernel.")}, nil),
		append(bytes.Clone(hello), zmtptest.Frame(0, "\x01kernel")...),
		append(bytes.Clone(hello), zmtptest.Frame(0, "\x00")...),
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		budget := NewBudget(64 << 10)
		lim := fuzzLimits(budget)
		lim.MaxSubscriptions = 32 << 10
		c := newBytesConn(b, &lim)
		if c.handshake("PUB", []string{"SUB", "XSUB"}) != nil {
			c.release()
			return
		}
		s := &subscriber{topics: map[string]int{}}
		for range 256 {
			frames, err := c.readMsg(nil)
			if err == nil {
				err = s.change(frames, &lim)
			}
			c.release()
			if err != nil {
				break
			}
		}
		var cost int64
		for topic, n := range s.topics {
			if n <= 0 {
				t.Errorf("topic %q counted %d times", topic, n)
			}
			cost += int64(len(topic)) + subscriptionCost
			if !s.wants([]byte(topic + "tail")) {
				t.Errorf("a subscriber of %q does not want %q", topic, topic+"tail")
			}
		}
		if cost != s.cost || cost > lim.MaxSubscriptions || s.reserved != budget.Used() {
			t.Errorf("subscriptions cost %d, counted %d (max %d), %d reserved of %d used", cost, s.cost, lim.MaxSubscriptions, s.reserved, budget.Used())
		}
	})
}
