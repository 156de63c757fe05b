//go:build unix && !linux

package native

import "syscall"

// childAttr puts a child in its own process group, so that killing the
// group stops everything it started.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// maxRSSUnit is the unit of Rusage.Maxrss: bytes on the BSDs and macOS.
const maxRSSUnit = 1
