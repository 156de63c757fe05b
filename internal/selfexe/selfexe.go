// Package selfexe finds the running program's executable, to start it
// again in a child process (the interpreter process, the symbol
// extractor).
package selfexe

import (
	"fmt"
	"os"
)

// Path returns the path that starts this program again: on Linux
// /proc/self/exe, which still names this very binary after its file has
// been replaced (a rebuild while the kernel runs), else os.Executable.
func Path() (string, error) {
	const self = "/proc/self/exe"
	if _, err := os.Stat(self); err == nil {
		return self, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding perfnb's executable: %w", err)
	}
	return exe, nil
}
