//go:build !unix

package zmtp

import "net"

// tryWrite writes nothing where non-blocking writes are not implemented:
// every message goes through the subscriber's queue.
func tryWrite(net.Conn, []byte) (int, error) { return 0, nil }
