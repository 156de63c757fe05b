package kernel

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestSIGINTInterrupts checks that SIGINT interrupts the running cell and
// leaves the kernel serving.
func TestSIGINTInterrupts(t *testing.T) {
	f := &fakeInterp{started: make(chan struct{}, 1)}
	c, _ := startKernel(t, f)
	c.request(c.shell, "execute_request", execContent("block", nil))
	<-f.started
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if r := content(t, c.recv(c.shellIn, "execute_reply")); r["ename"] != "Interrupted" {
		t.Errorf("reply after SIGINT = %v", r)
	}
	c.request(c.shell, "execute_request", execContent("hello", nil))
	if r := content(t, c.recv(c.shellIn, "execute_reply")); r["status"] != "ok" {
		t.Errorf("reply after SIGINT = %v", r)
	}
}

// TestSIGTERMShutsDown checks that SIGTERM shuts the interpreter down and
// makes Run return.
func TestSIGTERMShutsDown(t *testing.T) {
	f := &fakeInterp{}
	_, done := startKernel(t, f)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Run did not return within 1 s of SIGTERM")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.shutdown) != 1 {
		t.Errorf("interpreter Shutdown calls = %v, want one", f.shutdown)
	}
}
