package zmtp

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/zmtp/zmtptest"
)

// thief connects to addr with raw bytes as a DEALER announcing identity,
// and returns a function that reports whether it has received anything
// beyond the handshake (a greeting and a READY of the Router's: 64 bytes
// and one short command).
func thief(t *testing.T, addr, identity string) (net.Conn, func() bool) {
	t.Helper()
	c := rawDial(t, addr, zmtptest.Greeting(), zmtptest.ReadyAs("DEALER", identity))
	var mu sync.Mutex
	var got []byte
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			mu.Lock()
			got = append(got, buf[:n]...)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return c, func() bool {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < 66 {
			return false
		}
		ready := 2 + int(got[65])
		return len(got) > 64+ready
	}
}

// TestIdentityCannotBeTakenOver: a connection that announces the
// identity of a connected client receives neither the replies to that
// client's requests nor the messages addressed to its identity, however
// often it reconnects; the client is answered throughout, and the
// identity passes to the newer connection only once the first has gone.
func TestIdentityCannotBeTakenOver(t *testing.T) {
	r, ep := startRouter(t, Limits{})
	addr := r.Addr().String()
	client := dealer(t, ep, "client-session")
	roundTrip(t, client, []byte("first"))

	var received []func() bool
	for i := range 10 {
		c, got := thief(t, addr, "client-session")
		received = append(received, got)
		roundTrip(t, client, fmt.Appendf(nil, "request %d", i))
		if i%2 == 0 {
			c.Close() // a thief reconnecting in a loop
		}
	}
	if err := r.Send([][]byte{[]byte("client-session"), []byte("addressed")}); err != nil {
		t.Fatal(err)
	}
	if m, err := client.Recv(); err != nil || !bytes.Equal(m.Frames[0], []byte("addressed")) {
		t.Errorf("the client did not receive the message addressed to its identity: %v %v", m, err)
	}
	time.Sleep(50 * time.Millisecond) // let anything misrouted arrive
	for i, got := range received {
		if got() {
			t.Errorf("thief %d received a message meant for the client", i)
		}
	}

	// Once the client has gone, the identity is the next connection's
	// (a client that reconnected before its old connection closed).
	client.Close()
	_, got := thief(t, addr, "client-session")
	waitFor(t, "the identity to pass on", func() bool {
		r.Send([][]byte{[]byte("client-session"), []byte("after")})
		return got() || received[1]()
	})
}

// TestIncompleteMessagesAreDropped: frames flagged "more" and then
// nothing are charged for what each frame costs, and dropped with their
// connection after the stall timeout.
func TestIncompleteMessagesAreDropped(t *testing.T) {
	hello := append(zmtptest.Greeting(), zmtptest.Ready("DEALER")...)
	frames := bytes.Repeat(zmtptest.Frame(0x1, "x"), 65535)
	t.Run("beyond the budget", func(t *testing.T) {
		budget := NewBudget(1 << 20) // 65,535 frames cost 4 MiB
		r, _ := startRouter(t, Limits{StallTimeout: time.Minute, Pending: budget})
		c := rawDial(t, r.Addr().String(), hello, frames)
		if !zmtptest.ClosedWithin(c, 5*time.Second) {
			t.Error("65,535 empty frames beyond the budget kept their connection")
		}
		waitFor(t, "the budget to be returned", func() bool { return budget.Used() == 0 })
	})
	t.Run("stalled", func(t *testing.T) {
		budget := NewBudget(64 << 20)
		r, ep := startRouter(t, Limits{StallTimeout: 300 * time.Millisecond, Pending: budget})
		c := rawDial(t, r.Addr().String(), hello, frames)
		waitFor(t, "the frames to be charged", func() bool { return budget.Used() > 1<<20 })
		if !zmtptest.ClosedWithin(c, 5*time.Second) {
			t.Error("a message left incomplete kept its connection")
		}
		waitFor(t, "the budget to be returned", func() bool { return budget.Used() == 0 })
		// An idle connection between messages is not a stall.
		d := dealer(t, ep, "idle")
		roundTrip(t, d, []byte("one"))
		time.Sleep(600 * time.Millisecond)
		roundTrip(t, d, []byte("two"))
	})
}
