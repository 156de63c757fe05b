package supervisor

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the worker in a process group of its own, so that the
// SIGINT Jupyter sends to the kernel's group does not reach it (the kernel
// relays interrupts as messages), and has Linux send it SIGTERM when the
// kernel process dies (it then removes its temporary files and exits).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
