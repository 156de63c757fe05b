// Package install writes and removes perfnb's Jupyter kernelspec
// (kernel.json and logos), as `python -m ipykernel install` does.
package install

import "errors"

// Options says where and under which name the kernelspec goes.
type Options struct {
	User        bool   // the user's Jupyter data directory (the default)
	SysPrefix   bool   // sys.prefix of the Python that runs Jupyter
	Prefix      string // a prefix such as /usr/local: PREFIX/share/jupyter/kernels
	Name        string // the kernelspec's directory name; default "perfnb"
	DisplayName string // default "Go (perfnb)"
	Executable  string // the perfnb binary; default os.Executable
}

// Install writes the kernelspec and returns its directory.
func Install(opts Options) (string, error) { return "", errors.New("install: not implemented") }

// Uninstall removes the kernelspec and returns the directory it removed.
func Uninstall(opts Options) (string, error) { return "", errors.New("install: not implemented") }
