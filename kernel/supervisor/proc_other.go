//go:build unix && !linux

package supervisor

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the worker in a process group of its own, so that the
// SIGINT Jupyter sends to the kernel's group does not reach it; the
// worker ends when its request pipe closes.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
