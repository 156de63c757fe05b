package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

func TestRouterSocketRoutesReplies(t *testing.T) {
	r := newRouterSocket(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { r.Close() })
	echo := func(frames [][]byte) {
		if err := r.Send(frames); err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if err := r.Listen("tcp://127.0.0.1:0", echo); err != nil {
		t.Fatal(err)
	}
	ep := "tcp://" + r.Addr().String()
	for _, id := range []string{"client-a", "client-b"} {
		d := zmq4.NewDealer(context.Background(), zmq4.WithID(zmq4.SocketIdentity(id)))
		t.Cleanup(func() { d.Close() })
		if err := d.Dial(ep); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			want := fmt.Sprintf("%s says %d", id, i)
			if err := d.Send(zmq4.NewMsgString(want)); err != nil {
				t.Fatal(err)
			}
			got, err := d.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Frames) != 1 || string(got.Frames[0]) != want {
				t.Fatalf("%s received %q, want its own %q", id, got.Frames, want)
			}
		}
	}
	if err := r.Send([][]byte{[]byte("nobody"), []byte("x")}); !errors.Is(err, errUnknownPeer) {
		t.Errorf("Send to an unknown identity: %v, want errUnknownPeer", err)
	}
}

func TestPubSocketHonoursSubscriptions(t *testing.T) {
	p := newPubSocket(slog.New(slog.DiscardHandler))
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
	// Subscriptions arrive asynchronously: wait until both are known.
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		n := 0
		for _, s := range p.subs {
			s.mu.Lock()
			n += len(s.topics)
			s.mu.Unlock()
		}
		p.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the subscriptions did not arrive")
		}
		time.Sleep(10 * time.Millisecond)
	}
	status := [][]byte{[]byte("kernel.s.status"), []byte("busy")}
	stream := [][]byte{[]byte("kernel.s.stream"), []byte("text")}
	if err := p.Send(status, stream); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(status); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		topic string
		want  []string
	}{
		{"", []string{"busy", "text", "busy"}},
		{"kernel.s.status", []string{"busy", "busy"}},
	} {
		for i, w := range tc.want {
			m, err := subs[tc.topic].Recv()
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Frames) != 2 || string(m.Frames[1]) != w {
				t.Errorf("subscriber of %q: message %d = %q, want %q", tc.topic, i, m.Frames, w)
			}
		}
	}
}
