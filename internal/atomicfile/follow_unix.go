//go:build unix

package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// mayFollow refuses to follow the link at path (whose Lstat is fi) where
// Linux's fs.protected_symlinks would: in a sticky world-writable
// directory, a link owned neither by this process's user nor by the
// directory's owner.
func mayFollow(path string, fi fs.FileInfo) error {
	link, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(link.Uid) == os.Geteuid() {
		return nil
	}
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return err
	}
	d, ok := dir.Sys().(*syscall.Stat_t)
	sticky := dir.Mode()&fs.ModeSticky != 0 && dir.Mode().Perm()&0o002 != 0
	if !ok || !sticky || d.Uid == link.Uid {
		return nil
	}
	return fmt.Errorf("%s is a link that another user made in a shared directory: not followed", path)
}
