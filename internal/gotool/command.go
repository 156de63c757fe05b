package gotool

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// Command returns the go command goCmd with args, to run in dir with the
// environment env (see Env). It runs in its own process group, all of
// which (the compiler, the linker, cgo's C compiler) is killed when ctx
// is cancelled, and on Linux when perfnb dies.
func Command(ctx context.Context, goCmd, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = groupAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	return cmd
}
