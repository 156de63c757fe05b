package native

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// CellRunOptions says where a compiled cell's child sends what it prints,
// shows and asks for.
type CellRunOptions struct {
	// Stdout and Stderr receive what the cell prints, as it prints it
	// (Stderr without a crash's trace, which goes into the error).
	Stdout, Stderr io.Writer
	// Display receives the cell's displays, and the value of its
	// trailing expression (Op "result"), as they are made.
	Display func(harness.DisplayMessage)
	// Stopping, when set, is called when the interrupted cell has
	// stopped and is writing its values (which then may take longer
	// than the interrupt's grace).
	Stopping func()
	// Input, when not nil, is asked for a line of the cell's standard
	// input when the cell waits for one (see stdinFeeder); nil, or an
	// error, gives the cell the end of its input.
	Input func(ctx context.Context) (string, error)
	// MemoryLimit is the child's limit of resident memory, in bytes; 0
	// is the default share of the machine.
	MemoryLimit int64
}

// interruptGrace is how long an interrupted compiled cell has to reach a
// check (the end of a loop body of the cell) and stop with its values.
const interruptGrace = time.Second

// CellResult is what a compiled cell's child left: its report, and the
// directory of the state files the report names.
type CellResult struct {
	Report harness.CellReport
	Dir    string
	// InputRefused says the cell read its standard input while Input
	// refused to give any (a client that does not accept input).
	InputRefused bool
}

// RunCell runs a compiled cell's binary. It returns the cell's report
// whenever the child wrote one (after a panic too), with the error of a
// child that did not end well: a panic, a crash, an exit, an interrupt or
// the memory limit, as Run words them. The caller removes the result's
// directory once it has read the values.
func (w *Workspace) RunCell(ctx context.Context, b *Binary, opts CellRunOptions) (*CellResult, error) {
	limit, err := memoryLimit(opts.MemoryLimit)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(w.dir, "values-")
	if err != nil {
		return nil, fmt.Errorf("starting the compiled cell: %w", err)
	}
	res := &CellResult{Dir: dir}
	stateEnv, report := b.stateEnv()
	c, feed, err := w.startCell(b, opts, append(stateEnv, harness.CellOutEnv+"="+dir))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	stopFeed := feed.start(ctx, c.cmd.Process.Pid, opts.Input)
	reason, _, waitErr := c.watch(ctx, 0, limit)
	res.InputRefused = stopFeed()
	c.finish()
	for _, n := range b.stateNotes(report) {
		c.out.write(c.stderr, []byte("note: "+n+"\n"))
	}
	if raw, err := os.ReadFile(filepath.Join(dir, harness.CellReportFile)); err == nil {
		_ = json.Unmarshal(raw, &res.Report)
	}
	switch reason {
	case Interrupted:
		summary := "the cell was interrupted; its compiled process was stopped, and the notebook's values are those before the cell"
		if res.Report.Interrupted {
			summary = "the cell was interrupted (what it defined and changed before the interrupt is kept)"
		}
		return res, &Error{Kind: Interrupted, Summary: summary, Err: context.Cause(ctx)}
	case OutOfMemory:
		return res, &Error{Kind: OutOfMemory, Summary: fmt.Sprintf(
			"memory limit exceeded: the compiled cell used more than %s (the limit; change it with the %s environment variable)",
			sysmem.FormatBytes(float64(limit)), MemoryLimitEnv)}
	}
	if waitErr == nil {
		return res, nil
	}
	return res, exitError(waitErr, c.cmd.ProcessState, c.trace.String(), "")
}

// startCell starts a compiled cell's binary in its own process group: its
// standard output and error are the cell's, descriptor 3 carries its
// displays, and its standard input is a pipe that feed writes to.
func (w *Workspace) startCell(b *Binary, opts CellRunOptions, env []string) (*child, *stdinFeeder, error) {
	var pipes [8]*os.File // read, write: stdout, stderr, displays, stdin
	closeAll := func() {
		for _, f := range pipes {
			if f != nil {
				f.Close()
			}
		}
	}
	for i := 0; i < len(pipes); i += 2 {
		var err error
		if pipes[i], pipes[i+1], err = os.Pipe(); err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("starting the compiled cell: %w", err)
		}
	}
	cmd := exec.Command(b.Path)
	cmd.Dir = w.dir
	cmd.Env = append(append(os.Environ(), harness.DisplayFDEnv+"=3"), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pipes[6], pipes[1], pipes[3]
	cmd.ExtraFiles = []*os.File{pipes[5]}
	cmd.SysProcAttr = childAttr()
	c := &child{cmd: cmd, stdout: pipes[0], errPipe: pipes[2], cellOut: pipes[4], start: time.Now(),
		out: newCappedOutput(NoOutputLimit), stderr: opts.Stderr, interruptGrace: interruptGrace,
		stopped: make(chan struct{}, 1)}
	feed := &stdinFeeder{w: pipes[7], r: stdinReadEnd(pipes[6])}
	err := cmd.Start()
	for _, k := range []int{1, 3, 5, 6} {
		pipes[k].Close() // the child's ends
	}
	if err != nil {
		for _, k := range []int{0, 2, 4} {
			pipes[k].Close()
		}
		feed.close()
		return nil, nil, fmt.Errorf("starting the compiled cell: %w", err)
	}
	order := newDisplayOrder()
	c.readers.Add(3)
	go func() {
		defer c.readers.Done()
		order.copyOut(opts.Stdout, c.stdout)
	}()
	go func() {
		defer c.readers.Done()
		c.readStderr()
	}()
	go func() {
		defer c.readers.Done()
		defer order.displaysEnded()
		readDisplays(c.cellOut, func(m harness.DisplayMessage) {
			switch m.Op {
			case harness.DisplayStopping:
				select {
				case c.stopped <- struct{}{}:
				default:
				}
				if opts.Stopping != nil {
					opts.Stopping()
				}
				return
			case "result": // the cell's value, after its output
			default: // a display, update or clear (or "", unreadable): in its place
				order.awaitMark()
				defer order.shown()
			}
			if opts.Display != nil && m.Op != "" {
				opts.Display(m)
			}
		})
	}()
	return c, feed, nil
}

// displayOrder keeps a compiled cell's displays in their place in its
// standard output, which the parent reads on another pipe: the child
// writes harness.DisplayMark on its output before each display message
// (not before its result or a stopping message), and a display is relayed
// once the output before its mark has been, the output after the mark
// once the display has been. Either side ending releases the other.
type displayOrder struct {
	mu           sync.Mutex
	cond         *sync.Cond
	marks, done  int  // marks the output has reached; displays relayed
	outEnded     bool // the output pipe has ended
	displayEnded bool // the display pipe has ended
}

func newDisplayOrder() *displayOrder {
	o := &displayOrder{}
	o.cond = sync.NewCond(&o.mu)
	return o
}

// copyOut forwards what r gives to w as it comes, waiting at each mark
// for its display.
func (o *displayOrder) copyOut(w io.Writer, r io.Reader) {
	defer func() {
		o.mu.Lock()
		o.outEnded = true
		o.cond.Broadcast()
		o.mu.Unlock()
	}()
	mark := []byte(harness.DisplayMark)
	buf := make([]byte, 32<<10)
	var pending []byte // output read but not written: a mark may start in it
	for {
		n, err := r.Read(buf)
		pending = append(pending, buf[:n]...)
		for {
			i := bytes.Index(pending, mark)
			if i < 0 {
				break
			}
			write(w, pending[:i])
			pending = pending[i+len(mark):]
			o.reachMark()
		}
		keep := 0 // the end of pending that may be the start of a mark
		for k := min(len(mark)-1, len(pending)); k > 0; k-- {
			if bytes.HasPrefix(mark, pending[len(pending)-k:]) {
				keep = k
				break
			}
		}
		write(w, pending[:len(pending)-keep])
		pending = append(pending[:0], pending[len(pending)-keep:]...)
		if err != nil {
			write(w, pending)
			return
		}
	}
}

// write writes p to w, if there is a w and a p.
func write(w io.Writer, p []byte) {
	if w != nil && len(p) > 0 {
		w.Write(p)
	}
}

// reachMark records that the output has reached the next mark, and waits
// until its display has been relayed.
func (o *displayOrder) reachMark() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.marks++
	o.cond.Broadcast()
	for o.done < o.marks && !o.displayEnded {
		o.cond.Wait()
	}
}

// awaitMark waits until the output has reached the mark of the next
// display.
func (o *displayOrder) awaitMark() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.marks <= o.done && !o.outEnded {
		o.cond.Wait()
	}
}

// shown records that a display has been relayed.
func (o *displayOrder) shown() {
	o.mu.Lock()
	o.done++
	o.cond.Broadcast()
	o.mu.Unlock()
}

// displaysEnded records that the display pipe has ended.
func (o *displayOrder) displaysEnded() {
	o.mu.Lock()
	o.displayEnded = true
	o.cond.Broadcast()
	o.mu.Unlock()
}

// maxDisplay is the largest display message a compiled cell may send.
const maxDisplay = 64 << 20

// readDisplays hands the display messages read from r to show.
func readDisplays(r io.Reader, show func(harness.DisplayMessage)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxDisplay)
	for sc.Scan() {
		var m harness.DisplayMessage
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			m = harness.DisplayMessage{} // dropped, but counted: it had its mark
		}
		show(m)
	}
	io.Copy(io.Discard, r)
}

// Values reads the values the cell gave back (CellReport.Vars), in
// groups: the variables of one group are decoded in order by one
// harness.Decoder.
func (r *CellResult) Values() ([][]harness.StateEntry, error) {
	var groups [][]harness.StateEntry
	seen := map[string]bool{}
	for _, v := range r.Report.Vars {
		if seen[v.File] {
			continue
		}
		seen[v.File] = true
		g, err := harness.ReadState(filepath.Join(r.Dir, filepath.Base(v.File)))
		if err != nil {
			return nil, fmt.Errorf("reading the values of the compiled cell: %w", err)
		}
		groups = append(groups, g...)
	}
	return groups, nil
}
