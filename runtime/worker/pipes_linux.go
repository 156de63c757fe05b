package worker

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// takePipes returns the worker's request and answer pipes, moved from
// file descriptors 3 and 4 to close-on-exec descriptors, with 3 and 4
// then open on /dev/null (close-on-exec too), and makes every other
// descriptor the process inherited close-on-exec. No process the worker
// starts (a magic's child, a cell's exec.Command, and what they start in
// turn) inherits the pipes, so none can keep the kernel from seeing the
// worker end; and a cell that closes or writes to descriptor 3 or 4
// touches nothing of the kernel's.
func takePipes() (in, out *os.File, err error) {
	closeInheritedOnExec()
	var moved [2]int
	for i, fd := range []int{3, 4} {
		nfd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 10)
		if errno != 0 {
			return nil, nil, fmt.Errorf("moving descriptor %d: %w", fd, errno)
		}
		moved[i] = int(nfd)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	defer null.Close()
	for _, fd := range []int{3, 4} {
		if err := syscall.Dup3(int(null.Fd()), fd, syscall.O_CLOEXEC); err != nil {
			return nil, nil, fmt.Errorf("closing descriptor %d: %w", fd, err)
		}
	}
	return os.NewFile(uintptr(moved[0]), "requests"), os.NewFile(uintptr(moved[1]), "answers"), nil
}

// closeInheritedOnExec marks the descriptors above 2 that the process
// inherited close-on-exec (those Go opens are already).
func closeInheritedOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd) // the directory's own descriptor included: it is closed already
		}
	}
}
