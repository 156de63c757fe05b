package kernel

import (
	"bytes"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"
)

// recordConn records each Write that reaches the network.
type recordConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (r *recordConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, append([]byte(nil), p...))
	return len(p), nil
}

func (r *recordConn) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.writes)
}

// zmtpFrame encodes one ZMTP frame as zmq4 writes it: header, then body.
func zmtpFrame(body []byte, more, command bool) [][]byte {
	var flag byte
	if more {
		flag |= 0x1
	}
	if command {
		flag |= 0x4
	}
	if len(body) > 255 {
		hdr := make([]byte, 9)
		hdr[0] = flag | 0x2
		binary.BigEndian.PutUint64(hdr[1:], uint64(len(body)))
		return [][]byte{hdr, body}
	}
	return [][]byte{{flag, byte(len(body))}, body}
}

func TestGatherConnWritesOneMessageAtOnce(t *testing.T) {
	rec := &recordConn{}
	c := newGatherConn(rec)
	write := func(parts ...[]byte) {
		for _, p := range parts {
			if _, err := c.Write(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	var all bytes.Buffer
	step := func(name string, wantWrites int, parts ...[]byte) {
		t.Helper()
		for _, p := range parts {
			all.Write(p)
		}
		before := rec.count()
		write(parts...)
		if got := rec.count() - before; got != wantWrites {
			t.Errorf("%s: %d writes reached the network, want %d", name, got, wantWrites)
		}
	}

	step("greeting", 1, bytes.Repeat([]byte{0xff}, zmtpGreetingLen))
	step("READY command", 1, zmtpFrame([]byte("\x05READYabc"), false, true)...)
	// A routed message: six frames, headers and bodies written separately.
	var msg [][]byte
	for i, body := range [][]byte{[]byte(delimiter), []byte("sig"), {}, bytes.Repeat([]byte("h"), 300), []byte("{}"), []byte("{}")} {
		msg = append(msg, zmtpFrame(body, i < 5, false)...)
	}
	step("six-frame message", 1, msg...)
	// The same message split at odd places.
	var joined []byte
	for _, p := range msg {
		joined = append(joined, p...)
	}
	step("split message", 1, joined[:3], joined[3:17], joined[17:])
	step("two frames, first incomplete", 0, zmtpFrame([]byte("part"), true, false)...)
	step("its last frame", 1, zmtpFrame([]byte("end"), false, false)...)
	// A frame larger than maxPendingWrite goes out in pieces, but goes out.
	big := bytes.Repeat([]byte("b"), 3*maxPendingWrite)
	before := rec.count()
	write(zmtpFrame(big, false, false)...)
	all.Write(zmtpFrame(big, false, false)[0])
	all.Write(big)
	if rec.count() == before {
		t.Error("a large message was not written")
	}

	var got bytes.Buffer
	for _, w := range rec.writes {
		got.Write(w)
	}
	if !bytes.Equal(got.Bytes(), all.Bytes()) {
		t.Errorf("the network saw %d bytes, want the %d written, in order", got.Len(), all.Len())
	}
}

func TestGatherConnSafetyFlush(t *testing.T) {
	rec := &recordConn{}
	c := newGatherConn(rec)
	c.greet = 0
	c.Write([]byte{0x1, 10}) // a frame header whose body never comes
	deadline := time.Now().Add(time.Second)
	for rec.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("bytes held without a message end were never flushed")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFastEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://127.0.0.1:5555": "perfnb-tcp://127.0.0.1:5555",
		"ipc:///tmp/k-1":       "perfnb-ipc:///tmp/k-1",
		"inproc://x":           "inproc://x",
	} {
		if got := fastEndpoint(in); got != want {
			t.Errorf("fastEndpoint(%q) = %q, want %q", in, got, want)
		}
	}
}
