package zmtp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/perfnb/perfnb/kernel/zmtp/zmtptest"
)

// The sockets are tested with go-zeromq/zmq4 as the client (another
// implementation of ZMTP), and against raw bytes for what a client would
// never send. Jupyter's own client (libzmq) talks to them in the kernel's
// and e2e's tests.

// startRouter starts an echoing Router on loopback and returns it with
// its endpoint.
func startRouter(t testing.TB, lim Limits) (*Router, string) {
	t.Helper()
	r := NewRouter(nil, lim)
	t.Cleanup(func() { r.Close() })
	echo := func(from *Peer, frames [][]byte) {
		if err := r.Reply(from, frames); err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if err := r.Listen("tcp://127.0.0.1:0", echo); err != nil {
		t.Fatal(err)
	}
	return r, "tcp://" + r.Addr().String()
}

// dealer connects a zmq4 DEALER with identity id to ep.
func dealer(t testing.TB, ep, id string) zmq4.Socket {
	t.Helper()
	var opts []zmq4.Option
	if id != "" {
		opts = append(opts, zmq4.WithID(zmq4.SocketIdentity(id)))
	}
	d := zmq4.NewDealer(context.Background(), opts...)
	t.Cleanup(func() { d.Close() })
	if err := d.Dial(ep); err != nil {
		t.Fatal(err)
	}
	return d
}

// roundTrip sends frames from s and checks that they come back.
func roundTrip(t testing.TB, s zmq4.Socket, frames ...[]byte) {
	t.Helper()
	if err := s.Send(zmq4.NewMsgFrom(frames...)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Frames) != len(frames) {
		t.Fatalf("received %d frames, want %d", len(got.Frames), len(frames))
	}
	for i := range frames {
		if !bytes.Equal(got.Frames[i], frames[i]) {
			t.Fatalf("frame %d: received %d bytes, not the %d sent", i, len(got.Frames[i]), len(frames[i]))
		}
	}
}

func TestRouterRoutesReplies(t *testing.T) {
	r, ep := startRouter(t, Limits{})
	for _, id := range []string{"client-a", "client-b", ""} {
		d := dealer(t, ep, id)
		for i := range 3 {
			roundTrip(t, d, fmt.Appendf(nil, "%s says %d", id, i))
		}
	}
	req := zmq4.NewReq(context.Background())
	t.Cleanup(func() { req.Close() })
	if err := req.Dial(ep); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, req, []byte("ping")) // the heartbeat's client
	if err := r.Send([][]byte{[]byte("nobody"), []byte("x")}); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("Send to an unknown identity: %v, want ErrUnknownPeer", err)
	}
}

func TestLargeMessagesGrowAndReturnTheBudget(t *testing.T) {
	budget := NewBudget(8 << 20)
	_, ep := startRouter(t, Limits{Pending: budget})
	d := dealer(t, ep, "big")
	big := bytes.Repeat([]byte("0123456789"), 300<<10/10)
	roundTrip(t, d, []byte("head"), big, []byte{}, big[:70000])
	// The echo is sent before the handler returns the bytes.
	waitFor(t, "the budget to be returned", func() bool { return budget.Used() == 0 })
}

func TestPubHonoursSubscriptions(t *testing.T) {
	p := NewPub(nil, Limits{})
	t.Cleanup(func() { p.Close() })
	if err := p.Listen("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ep := "tcp://" + p.Addr().String()
	subs := map[string]zmq4.Socket{}
	for _, topic := range []string{"", "kernel.s.status"} {
		s := zmq4.NewSub(context.Background())
		t.Cleanup(func() { s.Close() })
		if err := s.Dial(ep); err != nil {
			t.Fatal(err)
		}
		if err := s.SetOption(zmq4.OptionSubscribe, topic); err != nil {
			t.Fatal(err)
		}
		subs[topic] = s
	}
	waitFor(t, "the subscriptions", func() bool { return p.Subscriptions() == 2 })
	status := [][]byte{[]byte("kernel.s.status"), []byte("busy")}
	stream := [][]byte{[]byte("kernel.s.stream"), bytes.Repeat([]byte("t"), 100<<10)}
	if err := p.Send(status, stream); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(status); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		topic string
		want  [][]byte
	}{
		{"", [][]byte{status[1], stream[1], status[1]}},
		{"kernel.s.status", [][]byte{status[1], status[1]}},
	} {
		for i, w := range tc.want {
			m, err := subs[tc.topic].Recv()
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Frames) != 2 || !bytes.Equal(m.Frames[1], w) {
				t.Errorf("subscriber of %q: message %d is not the one published", tc.topic, i)
			}
		}
	}
}

// recordConn records each Write that reaches the network.
type recordConn struct {
	net.Conn
	writes [][]byte
}

func (r *recordConn) Write(p []byte) (int, error) {
	r.writes = append(r.writes, append([]byte(nil), p...))
	return len(p), nil
}

func (r *recordConn) SetWriteDeadline(time.Time) error { return nil }

func TestSendIsOneWrite(t *testing.T) {
	rec := &recordConn{}
	c := newConn(rec, &Limits{})
	long := bytes.Repeat([]byte("h"), 300)
	msg := [][]byte{[]byte("<IDS|MSG>"), []byte("sig"), long, {}, []byte("{}"), []byte("{}")}
	if err := c.sendMsgs(msg, msg[:1]); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 1 {
		t.Fatalf("two messages took %d writes, want 1", len(rec.writes))
	}
	// Read them back with the reading side.
	back := newConn(fakeReader(rec.writes[0]), &Limits{MaxMessageSize: 1 << 20})
	for _, want := range [][][]byte{msg, msg[:1]} {
		got, err := back.readMsg(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("read %d frames back, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("frame %d read back as %q, want %q", i, got[i], want[i])
			}
		}
	}
}

// fakeReader is a net.Conn that reads b, then EOF.
func fakeReader(b []byte) net.Conn {
	client, server := net.Pipe()
	go func() {
		client.Write(b)
		client.Close()
	}()
	return server
}

// waitFor polls cond for up to five seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// flakyListener fails its first Accepts with EMFILE, as a process out of
// descriptors does.
type flakyListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.fails > 0
	l.fails--
	l.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestAcceptSurvivesRunningOutOfDescriptors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRouter(slog.New(slog.DiscardHandler), Limits{})
	t.Cleanup(func() { r.Close() })
	r.handler = func(from *Peer, frames [][]byte) { r.Reply(from, frames) }
	r.srv.start(&flakyListener{Listener: ln, fails: 8}, r.serve)
	d := dealer(t, "tcp://"+ln.Addr().String(), "after")
	roundTrip(t, d, []byte("still serving"))
}

// rawDial connects and sends b; it reads and discards what the socket
// sends.
func rawDial(t *testing.T, addr string, b ...[]byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, p := range b {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestHostilePeersAreDisconnected(t *testing.T) {
	if zmtptest.MaxFrames != maxFrames {
		t.Fatalf("zmtptest.MaxFrames is %d, the sockets refuse more than %d", zmtptest.MaxFrames, maxFrames)
	}
	lim := Limits{MaxMessageSize: 1 << 20, HandshakeTimeout: 300 * time.Millisecond}
	var got sync.Map // frames the Router's handler received
	r := NewRouter(nil, lim)
	t.Cleanup(func() { r.Close() })
	if err := r.Listen("tcp://127.0.0.1:0", func(from *Peer, frames [][]byte) {
		got.Store(string(frames[len(frames)-1]), true)
		r.Reply(from, frames)
	}); err != nil {
		t.Fatal(err)
	}
	p := NewPub(nil, lim)
	t.Cleanup(func() { p.Close() })
	if err := p.Listen("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name, addr, peer string
	}{
		{"router", r.Addr().String(), "DEALER"},
		{"pub", p.Addr().String(), "SUB"},
	} {
		for name, b := range zmtptest.Hostile(s.peer) {
			t.Run(s.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				c := rawDial(t, s.addr, b)
				if !zmtptest.ClosedWithin(c, 3*time.Second) {
					t.Errorf("the connection is still open")
				}
			})
		}
	}
	t.Cleanup(func() {
		// After all of them, both sockets serve.
		d := dealer(t, "tcp://"+r.Addr().String(), "good")
		roundTrip(t, d, []byte("good"))
		got.Delete("good")
		got.Range(func(k, _ any) bool {
			t.Errorf("the handler received %q from a hostile peer", k)
			return true
		})
	})
}

func TestConnectionCap(t *testing.T) {
	r, ep := startRouter(t, Limits{MaxConnections: 3, HandshakeTimeout: time.Minute})
	addr := r.Addr().String()
	var held []net.Conn
	for range 3 {
		held = append(held, rawDial(t, addr)) // handshakes that never end
	}
	waitFor(t, "three connections", func() bool {
		r.srv.mu.Lock()
		defer r.srv.mu.Unlock()
		return len(r.srv.conns) == 3
	})
	if !zmtptest.ClosedWithin(rawDial(t, addr), 2*time.Second) {
		t.Error("a fourth connection was kept")
	}
	held[0].Close()
	waitFor(t, "a free place", func() bool {
		r.srv.mu.Lock()
		defer r.srv.mu.Unlock()
		return len(r.srv.conns) < 3
	})
	roundTrip(t, dealer(t, ep, "fits"), []byte("served"))
}

func TestBudgetBoundsPendingBytes(t *testing.T) {
	budget := NewBudget(256 << 10)
	r, ep := startRouter(t, Limits{MaxMessageSize: 4 << 20, Pending: budget})
	hello := append(zmtptest.Greeting(), zmtptest.Ready("DEALER")...)
	// Each announces 1 MiB and sends 200 KiB of it: the first holds
	// 192 KiB of the budget (and its frame's cost), the second would
	// need as much.
	first := rawDial(t, r.Addr().String(), hello, zmtptest.LongHeader(0, 1<<20), make([]byte, 200<<10))
	waitFor(t, "the first to hold its bytes", func() bool { return budget.Used() == 192<<10+frameCost })
	second := rawDial(t, r.Addr().String(), hello, zmtptest.LongHeader(0, 1<<20), make([]byte, 200<<10))
	if !zmtptest.ClosedWithin(second, 3*time.Second) {
		t.Error("the connection beyond the budget was kept")
	}
	// Messages up to 64 KiB do not need the budget.
	roundTrip(t, dealer(t, ep, "small"), make([]byte, 60<<10))
	first.Close()
	waitFor(t, "the budget to be returned", func() bool { return budget.Used() == 0 })
}

func TestStalledLargeFramesAreDropped(t *testing.T) {
	budget := NewBudget(64 << 20)
	r, _ := startRouter(t, Limits{StallTimeout: 200 * time.Millisecond, Pending: budget})
	hello := append(zmtptest.Greeting(), zmtptest.Ready("DEALER")...)
	c := rawDial(t, r.Addr().String(), hello, zmtptest.LongHeader(0, 1<<20), make([]byte, 100<<10))
	if !zmtptest.ClosedWithin(c, 3*time.Second) {
		t.Error("a frame that stopped arriving kept its connection")
	}
	waitFor(t, "the budget to be returned", func() bool { return budget.Used() == 0 })
}

func TestIPC(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kernel-1")
	r := NewRouter(nil, Limits{})
	if err := r.Listen("ipc://"+path, func(from *Peer, frames [][]byte) { r.Reply(from, frames) }); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, dealer(t, "ipc://"+path, "ipc"), []byte("over a unix socket"))
	r.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket file is left after Close: %v", err)
	}
}
