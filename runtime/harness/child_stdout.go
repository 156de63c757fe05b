package harness

import (
	"os"
	"strconv"
	"syscall"
)

// OutputFDEnv is the environment variable through which the parent process
// names the file descriptor that receives what the cell prints.
const OutputFDEnv = "PERFNB_OUTPUT_FD"

// RedirectStdout points os.Stdout at the descriptor named by the
// PERFNB_OUTPUT_FD environment variable, so that what the cell prints stays
// apart from the benchmark lines that the testing package writes to the
// original standard output (it keeps its own reference to that file). It
// returns a function that restores os.Stdout; generated benchmarks pass it
// to b.Cleanup rather than defer it, since a deferred call changes the code
// of the timed loop. Without the variable, it changes nothing.
func RedirectStdout() (restore func()) {
	fd, err := strconv.Atoi(os.Getenv(OutputFDEnv))
	if err != nil || fd < 0 {
		return func() {}
	}
	dup, err := syscall.Dup(fd)
	if err != nil {
		return func() {}
	}
	f := os.NewFile(uintptr(dup), "cell-output")
	saved := os.Stdout
	os.Stdout = f
	return func() {
		os.Stdout = saved
		f.Close()
	}
}
