//go:build unix && !linux

package worker

import (
	"os"
	"syscall"
)

// takePipes returns the worker's request and answer pipes, descriptors 3
// and 4, made close-on-exec so that no process the worker starts
// inherits them.
func takePipes() (in, out *os.File, err error) {
	syscall.CloseOnExec(3)
	syscall.CloseOnExec(4)
	return os.NewFile(3, "requests"), os.NewFile(4, "answers"), nil
}
