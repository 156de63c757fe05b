package native

import "syscall"

// childAttr puts a child in its own process group, so that killing the
// group stops everything it started, and has the kernel kill it if perfnb
// dies first.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// maxRSSUnit is the unit of Rusage.Maxrss: kilobytes on Linux.
const maxRSSUnit = 1024
