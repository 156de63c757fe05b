package gotool

import "syscall"

// groupAttr puts the go command in its own process group, killed with
// perfnb.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
