package supervisor

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the worker in a process group of its own, so that the
// SIGINT Jupyter sends to the kernel's group does not reach it (the kernel
// relays interrupts as messages), and has Linux kill it when the kernel
// process dies.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
