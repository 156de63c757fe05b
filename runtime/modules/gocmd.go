package modules

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/perfnb/perfnb/internal/gotool"
	"io"
	"os/exec"
	"strings"
)

// command returns the go command with args, run in dir with env, in its
// own process group, which is killed when ctx is cancelled.
func (n *Notebook) command(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	return gotool.Command(ctx, n.goCmd, dir, env, args...)
}

// run runs a go command in dir with env and returns its standard output.
// What it writes on standard error (go: downloading ..., compiler
// messages) is copied to progress line by line as it comes, and kept for
// the error. An interrupt is reported as context.Canceled.
func (n *Notebook) run(ctx context.Context, dir string, env []string, progress io.Writer, args ...string) (string, error) {
	cmd := n.command(ctx, dir, env, args...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	var stderr strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			stderr.WriteString(line + "\n")
			fmt.Fprintln(writer(progress), line)
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	<-done
	if ctx.Err() != nil {
		return "", fmt.Errorf("go %s was interrupted: %w", args[0], context.Canceled)
	}
	if err != nil {
		return stdout.String(), &goError{args: args, stderr: strings.TrimSpace(stderr.String()), err: err}
	}
	return stdout.String(), nil
}

// goError is a go command that failed, with what it said.
type goError struct {
	args   []string
	stderr string
	err    error
}

func (e *goError) Error() string {
	msg := e.stderr
	if msg == "" {
		msg = e.err.Error()
	}
	return fmt.Sprintf("go %s: %s", strings.Join(e.args, " "), msg)
}

func (e *goError) Unwrap() error { return e.err }

// goMessage returns what a failed go command said, without the command.
func goMessage(err error) string {
	var ge *goError
	if errors.As(err, &ge) && ge.stderr != "" {
		return ge.stderr
	}
	return err.Error()
}
