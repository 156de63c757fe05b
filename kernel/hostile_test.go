package kernel

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/perfnb/perfnb/kernel/zmtp/zmtptest"
)

// TestHostilePeersDoNotEndTheKernel sends, without the key, what ended the
// kernel or stopped a socket before (a frame header announcing 2^40 bytes,
// READY metadata cut short, handshakes that never end) to each of the five
// sockets, then checks that the kernel still answers on all of them,
// interrupts a cell and shuts down.
func TestHostilePeersDoNotEndTheKernel(t *testing.T) {
	f := &fakeInterp{started: make(chan struct{}, 1)}
	c, done := startKernel(t, f)
	attackAllSockets(t, c)
	checkStillAnswers(t, c)
	checkInterruptAndShutdown(t, c, f, done)
}

// attackAllSockets leaves 20 handshakes half open on each of c's sockets,
// held until the test ends, and checks that the kernel closes each
// connection that sends one of the attacks.
func attackAllSockets(t *testing.T, c *testClient) {
	t.Helper()
	sockets := []struct {
		name string
		port int
		peer string // the socket type a client has
	}{
		{"shell", c.ci.ShellPort, "DEALER"},
		{"control", c.ci.ControlPort, "DEALER"},
		{"stdin", c.ci.StdinPort, "DEALER"},
		{"iopub", c.ci.IOPubPort, "SUB"},
		{"heartbeat", c.ci.HBPort, "REQ"},
	}
	attacks := []string{"a frame of 2^40 bytes", "a READY command of 2^40 bytes", "READY metadata cut short",
		"too many frames", "a socket type that does not fit"}
	var wg sync.WaitGroup
	var held []net.Conn // half-open handshakes, kept while the kernel is used
	for _, s := range sockets {
		addr := net.JoinHostPort(c.ci.IP, strconv.Itoa(s.port))
		for range 20 {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, conn)
			conn.Write(zmtptest.Greeting()[:10])
		}
		for _, name := range attacks {
			wg.Go(func() {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				conn.Write(zmtptest.Hostile(s.peer)[name])
				if !zmtptest.ClosedWithin(conn, 5*time.Second) {
					t.Errorf("%s: %s: the kernel kept the connection", s.name, name)
				}
			})
		}
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, conn := range held {
			conn.Close()
		}
	})
}

// checkStillAnswers checks that the kernel answers kernel_info_request on
// shell and control and echoes a heartbeat.
func checkStillAnswers(t *testing.T, c *testClient) {
	t.Helper()
	for _, sock := range []struct {
		s  zmq4.Socket
		in chan *message
	}{{c.shell, c.shellIn}, {c.control, c.controlIn}} {
		c.request(sock.s, "kernel_info_request", map[string]any{})
		c.recv(sock.in, "kernel_info_reply")
	}
	hb := zmq4.NewReq(context.Background())
	t.Cleanup(func() { hb.Close() }) // open until the test ends
	if err := hb.Dial(c.ci.endpoint(c.ci.HBPort)); err != nil {
		t.Fatal(err)
	}
	if err := hb.Send(zmq4.NewMsgString("ping")); err != nil {
		t.Fatal(err)
	}
	if m, err := hb.Recv(); err != nil || string(m.Frames[0]) != "ping" {
		t.Errorf("heartbeat: %q, %v", m.Frames, err)
	}
}

// checkInterruptAndShutdown checks that the kernel interrupts a blocking
// cell of f, then shuts down and ends Run, which reports on done, cleanly.
func checkInterruptAndShutdown(t *testing.T, c *testClient, f *fakeInterp, done <-chan error) {
	t.Helper()
	id := c.request(c.shell, "execute_request", execContent("block", nil))
	<-f.started
	c.request(c.control, "interrupt_request", map[string]any{})
	c.recv(c.controlIn, "interrupt_reply")
	if r := content(t, c.recv(c.shellIn, "execute_reply")); r["status"] != "error" {
		t.Errorf("the interrupted cell's reply: %v", r)
	}
	c.outputs(id)
	c.request(c.control, "shutdown_request", map[string]any{"restart": false})
	c.recv(c.controlIn, "shutdown_reply")
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no shutdown within 5 s")
	}
}
