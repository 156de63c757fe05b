package kernel

import (
	"testing"
)

// BenchmarkExecuteRoundTrip measures an execute_request of a trivial cell
// up to its idle status, with zmq4 clients in the same process.
func BenchmarkExecuteRoundTrip(b *testing.B) {
	c, _ := startKernel(b, &fakeInterp{})
	content := execContent("_ = 1", nil)
	for b.Loop() {
		id := c.request(c.shell, "execute_request", content)
		c.recv(c.shellIn, "execute_reply")
		c.outputs(id)
	}
}
