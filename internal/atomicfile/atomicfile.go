// Package atomicfile writes files so that a reader never sees half of one:
// the data goes into a temporary file beside the target, which is then
// renamed over it. perfnb run writes notebooks with it and %scalene its
// saved pages.
//
// Its policy on what may be replaced is that of open(2) on Linux with
// fs.protected_symlinks, the default of every distribution, since the
// rename that ends the write does not pass through open's checks: a
// symbolic link is followed, so that the file it names is replaced and
// the link keeps linking (a notebook kept in a dotfiles folder and linked
// from elsewhere stays where it is), except a link in a sticky
// world-writable directory such as /tmp that neither the user nor the
// directory's owner made (the link another user plants where a report is
// about to be written); an existing target that is not a regular file (a
// directory, a device such as /dev/full, a named pipe, a socket) is
// refused rather than replaced; an existing file keeps its permissions.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// maxLinks is how many symbolic links Target follows before it gives up,
// as the kernel's own limit (ELOOP) does.
const maxLinks = 40

// Target returns the file a write to path replaces: path itself, or the
// file its chain of symbolic links ends at (which may not exist yet). It
// refuses a target that exists and is not a regular file. Call it before
// long work whose result is to be written, so that a bad target is known
// before the work is done.
func Target(path string) (string, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return path, nil // a new file
		case err != nil:
			return "", err
		case fi.Mode()&fs.ModeSymlink != 0:
			if err := mayFollow(path, fi); err != nil {
				return "", err
			}
			dest, err := os.Readlink(path)
			if err != nil {
				return "", err
			}
			if !filepath.IsAbs(dest) {
				dest = filepath.Join(filepath.Dir(path), dest)
			}
			path = dest
		case !fi.Mode().IsRegular():
			return "", fmt.Errorf("%s is %s, not a regular file", path, kind(fi.Mode()))
		default:
			return path, nil
		}
	}
	return "", fmt.Errorf("%s: more than %d symbolic links in a row", path, maxLinks)
}

// kind names a file mode that is not a regular file's, for an error.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

// WriteFile writes data to the file a write to path replaces (see
// Target), atomically: into a temporary file in the target's directory,
// then renamed over the target. A new file gets the permissions perm;
// an existing one keeps its own. On failure the target is left as it
// was and no temporary file remains.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	target, err := Target(path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(target); err == nil {
		perm = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	err = errors.Join(err, tmp.Chmod(perm), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), target)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
