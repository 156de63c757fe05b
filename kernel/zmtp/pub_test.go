package zmtp

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/perfnb/perfnb/kernel/zmtp/zmtptest"
)

// startPub starts a Pub on loopback.
func startPub(t *testing.T, lim Limits) *Pub {
	t.Helper()
	p := NewPub(nil, lim)
	t.Cleanup(func() { p.Close() })
	if err := p.Listen("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	return p
}

// rawSubscriber connects to p with raw bytes, subscribes to topics and
// never reads.
func rawSubscriber(t *testing.T, p *Pub, topics ...string) net.Conn {
	t.Helper()
	b := append(zmtptest.Greeting(), zmtptest.Ready("SUB")...)
	for _, topic := range topics {
		b = append(b, zmtptest.Command("SUBSCRIBE", []byte(topic))...)
	}
	return rawDial(t, p.Addr().String(), b)
}

// subscribe connects a zmq4 SUB to p, subscribed to everything.
func subscribe(t *testing.T, p *Pub) zmq4.Socket {
	t.Helper()
	s := zmq4.NewSub(context.Background())
	t.Cleanup(func() { s.Close() })
	if err := s.Dial("tcp://" + p.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		t.Fatal(err)
	}
	return s
}

// numbered is the message of sequence number i, with a body of size
// bytes.
func numbered(i, size int) [][]byte {
	body := make([]byte, size)
	binary.BigEndian.PutUint64(body, uint64(i))
	return [][]byte{[]byte("kernel.x.stream"), body}
}

// queues returns the messages and bytes queued for each subscriber of p.
func queues(p *Pub) (msgs []int, bytes []int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.subs {
		s.out.mu.Lock()
		msgs = append(msgs, len(s.out.queue))
		bytes = append(bytes, s.out.bytes)
		s.out.mu.Unlock()
	}
	return msgs, bytes
}

// TestStalledSubscribersDoNotHoldThePub: twenty subscribers that never
// read stay connected and hold at most their queues, while the sender
// goes on and a subscriber that reads gets every message it keeps up
// with, in order, and the last one.
func TestStalledSubscribersDoNotHoldThePub(t *testing.T) {
	const (
		hwm   = 50
		size  = 16 << 10
		count = 2000 // 32 MiB: far more than the stalled sockets' buffers take
	)
	queued := NewBudget(4 << 20)
	p := startPub(t, Limits{SendHWM: hwm, MaxQueued: 2 << 20, Queued: queued})
	var stalled []net.Conn
	for range 20 {
		stalled = append(stalled, rawSubscriber(t, p, ""))
	}
	good := subscribe(t, p)
	waitFor(t, "21 subscriptions", func() bool { return p.Subscriptions() == 21 })

	received := make(chan int, count+1)
	go func() {
		for {
			m, err := good.Recv()
			if err != nil {
				close(received)
				return
			}
			received <- int(binary.BigEndian.Uint64(m.Frames[1]))
		}
	}()
	var peak int64
	for i := range count {
		if err := p.Send(numbered(i, size)); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, queued.Used())
	}
	if limit := queued.max + size + 64; peak > limit {
		t.Errorf("the queues held %d bytes at their peak, beyond the budget of %d and one message", peak, queued.max)
	}
	msgs, bytes := queues(p)
	for i := range msgs {
		if msgs[i] > hwm || bytes[i] > 2<<20+size {
			t.Errorf("subscriber %d holds %d messages, %d bytes, beyond its bounds", i, msgs[i], bytes[i])
		}
	}
	for i, c := range stalled {
		if zmtptest.ClosedWithin(c, 10*time.Millisecond) {
			t.Errorf("stalled subscriber %d was disconnected; a PUB drops its messages and keeps it", i)
		}
	}

	// The good subscriber catches up (it may have lost messages, if it
	// read slower than they were sent): then the next message reaches it.
	waitFor(t, "the good subscriber to catch up", func() bool { return anyCaughtUp(p) })
	if err := p.Send(numbered(count, 8)); err != nil {
		t.Fatal(err)
	}
	for last := -1; last != count; {
		select {
		case n := <-received:
			if n <= last {
				t.Fatalf("message %d after %d", n, last)
			}
			last = n
		case <-time.After(10 * time.Second):
			t.Fatalf("after catching up, the subscriber did not receive the next message (the last was %d)", last)
		}
	}
	for _, c := range stalled {
		c.Close()
	}
	waitFor(t, "the stalled subscribers' queues to be returned", func() bool { return queued.Used() == 0 })
}

// anyCaughtUp reports whether a subscriber of p has nothing queued.
func anyCaughtUp(p *Pub) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.subs {
		s.out.mu.Lock()
		behind := s.out.behind()
		s.out.mu.Unlock()
		if !behind {
			return true
		}
	}
	return false
}

func TestSubscriptionsAreBounded(t *testing.T) {
	pending := NewBudget(1 << 20)
	p := startPub(t, Limits{MaxSubscriptions: 256 << 10, Pending: pending})

	// Subscribing and cancelling the same topics costs nothing lasting.
	topic := string(bytes.Repeat([]byte("t"), 10<<10))
	var churn []byte
	for range 100 {
		churn = append(churn, zmtptest.Command("SUBSCRIBE", []byte(topic))...)
		churn = append(churn, zmtptest.Command("CANCEL", []byte(topic))...)
	}
	c := rawDial(t, p.Addr().String(), append(append(zmtptest.Greeting(), zmtptest.Ready("SUB")...), churn...))
	waitFor(t, "the churn to be read", func() bool { return p.Subscriptions() == 0 && pending.Used() == 0 })
	if zmtptest.ClosedWithin(c, 50*time.Millisecond) {
		t.Fatal("a subscriber that cancels what it subscribed was disconnected")
	}

	// One connection cannot hold more than MaxSubscriptions.
	var flood []string
	for i := range 40 {
		flood = append(flood, fmt.Sprintf("%d-%s", i, topic)) // 400 KiB of topics
	}
	greedy := rawSubscriber(t, p, flood...)
	if !zmtptest.ClosedWithin(greedy, 3*time.Second) {
		t.Error("a subscriber with 400 KiB of subscriptions was kept")
	}
	waitFor(t, "its budget to be returned", func() bool { return pending.Used() == 0 })

	// Connections together cannot hold more than the budget.
	var held []net.Conn
	for i := range 8 {
		held = append(held, rawSubscriber(t, p, flood[5*i:5*i+5]...)) // 50 KiB each
	}
	waitFor(t, "the subscriptions of eight connections", func() bool { return p.Subscriptions() >= 5*6 })
	if used := pending.Used(); used > pending.max {
		t.Errorf("subscriptions hold %d bytes of a budget of %d", used, pending.max)
	}
	for _, c := range held {
		c.Close()
	}
	waitFor(t, "the budget to be returned", func() bool { return pending.Used() == 0 })
}

func TestManySubscriptionsDoNotSlowMatching(t *testing.T) {
	// 20,000 topics on one subscriber, none a prefix of the messages':
	// the matching looks up each prefix of the message's topic, so the
	// count does not matter (the benchmark below measures it).
	s := &subscriber{topics: map[string]int{}}
	lim := Limits{MaxSubscriptions: 1 << 30}.withDefaults()
	for i := range 20000 {
		if err := s.change([][]byte{append([]byte{1}, fmt.Sprintf("topic-%d", i)...)}, &lim); err != nil {
			t.Fatal(err)
		}
	}
	if s.wants([]byte("kernel.x.status")) {
		t.Error("a subscriber without a matching prefix wants the message")
	}
	s.change([][]byte{append([]byte{1}, "kernel."...)}, &lim)
	if !s.wants([]byte("kernel.x.status")) {
		t.Error("a subscriber of kernel. does not want kernel.x.status")
	}
}

func BenchmarkWants20000Topics(b *testing.B) {
	s := &subscriber{topics: map[string]int{}}
	lim := Limits{MaxSubscriptions: 1 << 30}.withDefaults()
	for i := range 20000 {
		s.change([][]byte{append([]byte{1}, fmt.Sprintf("topic-%d", i)...)}, &lim)
	}
	topic := []byte("kernel.5f1c6f3e-8b7a-4cde-9d5c-6a1b2c3d4e5f.stream")
	for b.Loop() {
		s.wants(topic)
	}
}

func TestPongWaitsBehindQueuedMessages(t *testing.T) {
	p := startPub(t, Limits{})
	c := rawSubscriber(t, p, "")
	waitFor(t, "the subscription", func() bool { return p.Subscriptions() == 1 })
	big := numbered(0, 4<<20) // more than the socket takes at once
	if err := p.Send(big); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(zmtptest.Command("PING", []byte{0, 10, 'c', 't', 'x'})); err != nil {
		t.Fatal(err)
	}
	// Read the greeting and READY, the message whole, then the PONG.
	all := readAll(t, c, 64+4<<20+200)
	if i := bytes.Index(all, []byte("\x04PONGctx")); i < 4<<20 {
		t.Errorf("the PONG is at byte %d, inside the message", i)
	}
}

// readAll reads from c until it has at least n bytes or the peer stops
// sending for a second.
func readAll(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	var all []byte
	buf := make([]byte, 64<<10)
	for len(all) < n {
		c.SetReadDeadline(time.Now().Add(time.Second))
		k, err := c.Read(buf)
		all = append(all, buf[:k]...)
		if err != nil {
			break
		}
	}
	return all
}
