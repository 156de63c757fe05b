//go:build unix && !linux

package supervisor

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcAttr puts the worker in a process group of its own, so that the
// SIGINT Jupyter sends to the kernel's group does not reach it; the
// worker ends when its request pipe closes.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// takePipes returns the worker's request and answer pipes, descriptors 3
// and 4, made close-on-exec so that no process the worker starts
// inherits them.
func takePipes() (in, out *os.File, err error) {
	syscall.CloseOnExec(3)
	syscall.CloseOnExec(4)
	return os.NewFile(3, "requests"), os.NewFile(4, "answers"), nil
}
