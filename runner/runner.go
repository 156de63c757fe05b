// Package runner executes a notebook without Jupyter: every code cell in
// order through a protocol.Interpreter, with progress on the terminal, and
// the outputs written back as nbformat 4.
//
// The outputs are collected as a Jupyter client collects them: consecutive
// stream texts of the same name are merged, update_display_data replaces
// the earlier display with the same id in place, clear_output with wait
// clears when the next output arrives, and a cell's value and error come
// last. Fields of the notebook and its cells that the runner does not
// know are written back unchanged.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/perfnb/perfnb/internal/atomicfile"
	"github.com/perfnb/perfnb/internal/nbformat"
	"github.com/perfnb/perfnb/kernel/protocol"
)

// Options configures one run.
type Options struct {
	Path        string        // the notebook to run
	Output      string        // where to write it; "" writes Path itself
	AllowErrors bool          // go on after a failing cell
	Timeout     time.Duration // per cell; 0 means none
	Progress    io.Writer     // progress lines and cell text output
	// Parameters are injected after the cell tagged parameters, as
	// papermill does (see injectParameters).
	Parameters []Parameter
}

// CellError is the error Run returns when a cell fails and errors are not
// allowed.
type CellError struct {
	Cell  int             // the cell's position in the notebook, from 1
	Count int             // its execution count, the n of In[n]
	Err   *protocol.Error // the error shown on the cell
}

// Error says which cell failed and why.
func (e *CellError) Error() string {
	return fmt.Sprintf("cell %d (%s) failed: %s", e.Cell, cell.File(e.Count), e.Err.Error())
}

// Unwrap returns the cell's error.
func (e *CellError) Unwrap() error { return e.Err }

// kernelspec is what Run writes into the notebook's metadata.kernelspec.
var kernelspec = map[string]any{
	"name":         "perfnb",
	"display_name": "Go (perfnb)",
	"language":     "go",
}

// stopGrace is how long Run waits for a cell to stop once it has been
// cancelled, before it gives up on the interpreter.
const stopGrace = 10 * time.Second

// Run executes the notebook with interp. It stops at the first failing
// cell, writes the outputs so far and returns a *CellError, unless
// opts.AllowErrors is set. The notebook is written in every case once it
// has been read, even when the run is interrupted through ctx.
func Run(ctx context.Context, interp protocol.Interpreter, opts Options) error {
	return runWith(ctx, interp, opts, stopGrace)
}

func runWith(ctx context.Context, interp protocol.Interpreter, opts Options, grace time.Duration) error {
	x, err := Start(interp, opts)
	if err != nil {
		return err
	}
	if err := checkOutput(x.out); err != nil {
		return err // before running anything
	}
	x.grace = grace
	runErr := x.RunAll(ctx)
	return errors.Join(runErr, x.Write())
}

// Execution is a notebook being executed by one interpreter: Start reads
// and prepares it, RunAll runs its cells in order as perfnb run does,
// Rerun runs one cell again (perfnb compare --run re-runs the measured
// cells round by round), and Write saves it.
type Execution struct {
	interp protocol.Interpreter
	opts   Options
	doc    *nbformat.Document
	out    string // the file Write writes
	r      *run
	grace  time.Duration
	start  time.Time
	t      tally
	counts map[*nbformat.Cell]int // the execution count each cell ran as
}

// Start reads the notebook opts.Path and readies it for interp: it
// injects the parameters, gives every cell an id and sets the kernel's
// metadata.
func Start(interp protocol.Interpreter, opts Options) (*Execution, error) {
	doc, err := nbformat.Read(opts.Path)
	if err != nil {
		return nil, err
	}
	out := opts.Output
	if out == "" {
		out = opts.Path
	}
	if err := prepare(doc, interp.Info(), opts.Parameters); err != nil {
		return nil, err
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	return &Execution{
		interp: interp, opts: opts, doc: doc, out: out, grace: stopGrace, start: time.Now(),
		r:      &run{displays: make(map[string][]*output), ran: make(map[*nbformat.Cell]*collector), progress: &lineWriter{w: progress}},
		counts: make(map[*nbformat.Cell]int),
	}, nil
}

// checkOutput makes sure, before anything runs, that a notebook can be
// written to path: that it is not a directory, a device or another file
// that is not a regular one, and that its folder exists, creating it if
// needed as nbconvert does (a CI script's "-o results/x.ipynb" works
// without a mkdir, and a folder that cannot be made is known before the
// cells have run).
func checkOutput(path string) error {
	target, err := atomicfile.Target(path)
	if err != nil {
		return fmt.Errorf("cannot write the notebook to %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o777); err != nil {
		return fmt.Errorf("cannot write the notebook to %s: %w", path, err)
	}
	return nil
}

// Document is the notebook as executed so far: the outputs of each cell
// that ran are in its Outputs once the execution has finished.
func (x *Execution) Document() *nbformat.Document { return x.doc }

// prepare readies a notebook that was read for its run: it injects the
// parameters, gives every cell an id and sets the kernel's metadata.
func prepare(doc *nbformat.Document, info protocol.Info, params []Parameter) error {
	if err := injectParameters(doc, params); err != nil {
		return err
	}
	if err := doc.EnsureIDs(); err != nil {
		return err
	}
	return setMetadata(doc, info)
}

// tally is what a run did, for its summary line.
type tally struct {
	done, total int
	failed      []string // the cells that failed, as In[n]
}

// RunAll runs the notebook's code cells in order, numbering them from 1.
// It stops at a fatal error, or at the first failing cell unless
// opts.AllowErrors is set; the cells it did not run are cleared.
func (x *Execution) RunAll(ctx context.Context) error {
	// Blank code cells are not run, as Jupyter clients skip them.
	var toRun []int
	for i, c := range x.doc.Cells {
		if c.Type != "code" {
			continue
		}
		if strings.TrimSpace(c.Source) == "" {
			clearCell(c)
			continue
		}
		toRun = append(toRun, i)
	}

	x.t = tally{total: len(toRun)}
	var runErr error
	for n, idx := range toRun {
		count := n + 1
		tag := fmt.Sprintf("[%d/%d] %s", n+1, len(toRun), cell.File(count))
		cellErr, fatal := x.runCell(ctx, x.doc.Cells[idx], tag, count, false)
		x.t.done++
		if fatal != nil {
			runErr = fatal
			break
		}
		if cellErr != nil {
			x.t.failed = append(x.t.failed, cell.File(count))
			if !x.opts.AllowErrors {
				runErr = &CellError{Cell: idx + 1, Count: count, Err: cellErr}
				break
			}
		}
	}
	if runErr != nil {
		// Later cells did not run in this execution: show them so.
		for _, idx := range toRun[x.t.done:] {
			clearCell(x.doc.Cells[idx])
		}
	}
	return runErr
}

// Rerun runs cell c again, as the execution count it had (so that what
// the magics compile is the same program, found in the build cache), and
// returns its error as RunAll does: a *CellError when the cell fails, or
// the fatal error that stops the execution.
func (x *Execution) Rerun(ctx context.Context, c *nbformat.Cell) error {
	count, ok := x.counts[c]
	if !ok {
		return fmt.Errorf("the cell %s has not run", c.ID)
	}
	tag := "[again] " + cell.File(count)
	cellErr, fatal := x.runCell(ctx, c, tag, count, true)
	switch {
	case fatal != nil:
		return fatal
	case cellErr != nil:
		return &CellError{Cell: slices.Index(x.doc.Cells, c) + 1, Count: count, Err: cellErr}
	}
	return nil
}

// clearCell removes a code cell's outputs and execution count.
func clearCell(c *nbformat.Cell) {
	c.Outputs = nil
	c.ExecutionCount = 0
}

// runCell runs cell c as In[count], writing the progress lines that start
// with tag before and after it, and leaves its outputs in c.Outputs. A
// cell run again is not stored in the interpreter's history a second
// time. It returns what execute returns.
func (x *Execution) runCell(ctx context.Context, c *nbformat.Cell, tag string, count int, again bool) (*protocol.Error, error) {
	r := x.r
	clearCell(c)
	c.ExecutionCount = count
	x.counts[c] = count
	col := &collector{run: r}
	r.mu.Lock()
	if old := r.ran[c]; old != nil {
		old.clearNow() // a cell run again shows only its new outputs
	}
	r.ran[c] = col
	r.progress.endLine()
	r.progress.write(fmt.Sprintf("%s %s\n", tag, firstLine(c.Source)))
	r.mu.Unlock()

	cellStart := time.Now()
	req := protocol.ExecuteRequest{Code: c.Source, StoreHistory: !again, StopOnError: true, ExecutionCount: count}
	cellErr, fatal := execute(ctx, x.interp, col, req, x.opts.Timeout, x.grace)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress.endLine()
	status := "ok in " + formatDuration(time.Since(cellStart))
	if cellErr != nil {
		status = "failed in " + formatDuration(time.Since(cellStart)) + ": " + cellErr.Error()
	}
	r.progress.write(tag + " " + status + "\n")
	outs, err := encodeOutputs(col.outputs)
	if err != nil {
		return cellErr, errors.Join(fatal, err)
	}
	c.Outputs = outs
	return cellErr, fatal
}

// Write writes the notebook to the output opts named (opts.Path itself
// when there is none) and the summary line of the run to the progress,
// and returns the writing error. Outputs that a later cell updated are
// written as they are now.
func (x *Execution) Write() error {
	r := x.r
	r.mu.Lock()
	defer r.mu.Unlock()
	var werr error
	for c, col := range r.ran {
		outs, err := encodeOutputs(col.outputs)
		if err != nil {
			werr = errors.Join(werr, err)
			continue
		}
		c.Outputs = outs
	}
	if werr == nil {
		werr = x.doc.WriteFile(x.out)
	}
	t := x.t
	summary := fmt.Sprintf("Ran %d of %d code cells in %s", t.done, t.total, formatDuration(time.Since(x.start)))
	if len(t.failed) > 0 {
		summary += fmt.Sprintf("; %d failed (%s)", len(t.failed), strings.Join(t.failed, ", "))
	}
	if werr == nil {
		summary += "; wrote " + x.out
	}
	r.progress.endLine()
	r.progress.write(summary + "\n")
	return werr
}

// execute runs one cell and records its outputs. It returns the cell's
// error, if any, and a fatal error when the run cannot go on: the run was
// interrupted, or the interpreter did not stop after being cancelled.
func execute(ctx context.Context, interp protocol.Interpreter, col *collector, req protocol.ExecuteRequest, timeout, grace time.Duration) (cellErr *protocol.Error, fatal error) {
	count := req.ExecutionCount
	cellCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if timeout > 0 {
		var cancelTimeout context.CancelFunc
		cellCtx, cancelTimeout = context.WithTimeout(cellCtx, timeout)
		defer cancelTimeout()
	}

	results := make(chan protocol.ExecuteResult, 1)
	go func() { results <- interp.Execute(cellCtx, req, col) }()

	var res protocol.ExecuteResult
	select {
	case res = <-results:
	case <-cellCtx.Done():
		select {
		case res = <-results:
		case <-time.After(grace):
			col.close()
			e := protocol.NewError(protocol.TimeoutError, fmt.Sprintf("%s did not stop within %s of being interrupted", cell.File(count), grace))
			col.fail(e)
			return e, fmt.Errorf("cannot go on: %w", e)
		}
	}
	col.close()

	timedOut := errors.Is(cellCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	if res.Data != nil && !(timedOut && res.Error != nil) {
		col.result(res.Data, res.Metadata, count)
	}
	switch {
	case res.Error != nil && timedOut:
		value := fmt.Sprintf("%s did not finish within %s and was interrupted", cell.File(count), timeout)
		e := protocol.NewError(protocol.TimeoutError, value,
			append([]string{string(protocol.TimeoutError) + ": " + value}, res.Error.Lines()...)...)
		col.fail(e)
		return e, nil
	case res.Error != nil:
		col.fail(res.Error)
		if ctx.Err() != nil {
			return res.Error, fmt.Errorf("interrupted at %s: %w", cell.File(count), ctx.Err())
		}
		return res.Error, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("interrupted after %s: %w", cell.File(count), ctx.Err())
	}
	return nil, nil
}

// setMetadata writes the perfnb kernelspec and the interpreter's language
// info into the notebook's metadata, keeping other language_info fields.
func setMetadata(doc *nbformat.Document, info protocol.Info) error {
	if err := doc.SetMetadata("kernelspec", kernelspec); err != nil {
		return err
	}
	li := map[string]any{}
	if raw, ok := doc.Metadata["language_info"]; ok {
		_ = json.Unmarshal(raw, &li) // a malformed one is replaced
		if li == nil {
			li = map[string]any{}
		}
	}
	l := info.Language
	if l.Name == "" {
		l.Name = "go"
	}
	for k, v := range map[string]string{
		"name":               l.Name,
		"version":            l.Version,
		"mimetype":           l.Mimetype,
		"file_extension":     l.FileExtension,
		"pygments_lexer":     l.PygmentsLexer,
		"codemirror_mode":    l.CodemirrorMode,
		"nbconvert_exporter": l.NBConvertExporter,
	} {
		if v != "" {
			li[k] = v
		}
	}
	return doc.SetMetadata("language_info", li)
}

// firstLine returns the first non-blank line of src, shortened for a
// progress line.
func firstLine(src string) string {
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if r := []rune(line); len(r) > 60 {
			line = string(r[:59]) + "…"
		}
		return line
	}
	return ""
}

// formatDuration prints d the way a person reads it in a progress line.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}
