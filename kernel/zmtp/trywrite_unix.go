//go:build unix

package zmtp

import (
	"errors"
	"net"
	"syscall"
)

// tryWrite writes b to c without waiting: it returns how much of b the
// socket's buffer took at once (0 when c is not a socket of this system,
// or the buffer is full).
func tryWrite(c net.Conn, b []byte) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true // never wait for the socket: the queue does
	})
	switch {
	case err != nil:
		return 0, err
	case errors.Is(werr, syscall.EAGAIN), errors.Is(werr, syscall.EINTR):
		return max(n, 0), nil
	}
	return max(n, 0), werr
}
