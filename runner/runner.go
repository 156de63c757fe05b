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
	"io"
	"strings"
	"time"

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
	return fmt.Sprintf("cell %d (In[%d]) failed: %s", e.Cell, e.Count, e.Err.Error())
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
	nb, err := readNotebook(opts.Path)
	if err != nil {
		return err
	}
	outPath := opts.Output
	if outPath == "" {
		outPath = opts.Path
	}
	if _, err := outputTarget(outPath); err != nil {
		return err // before running anything
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	if err := prepare(nb, interp.Info(), opts.Parameters); err != nil {
		return err
	}

	r := &run{displays: make(map[string][]*output), progress: &lineWriter{w: progress}}
	start := time.Now()
	t, runErr := r.runCells(ctx, interp, nb, opts, grace)
	werr := r.finish(nb, outPath, t, start)
	return errors.Join(runErr, werr)
}

// prepare readies a notebook that was read for its run: it injects the
// parameters, gives every cell an id and sets the kernel's metadata.
func prepare(nb *notebook, info protocol.Info, params []Parameter) error {
	if err := injectParameters(nb, params); err != nil {
		return err
	}
	if err := nb.ensureIDs(); err != nil {
		return err
	}
	return setMetadata(nb, info)
}

// tally is what a run did, for its summary line.
type tally struct {
	done, total int
	failed      []string // the cells that failed, as In[n]
}

// runCells runs the notebook's code cells in order, numbering them from
// 1. It stops at a fatal error, or at the first failing cell unless
// opts.AllowErrors is set; the cells it did not run are cleared.
func (r *run) runCells(ctx context.Context, interp protocol.Interpreter, nb *notebook, opts Options, grace time.Duration) (tally, error) {
	// Blank code cells are not run, as Jupyter clients skip them.
	var toRun []int
	for i, c := range nb.cells {
		if c.cellType != "code" {
			continue
		}
		if strings.TrimSpace(c.source) == "" {
			c.clear()
			continue
		}
		toRun = append(toRun, i)
	}

	t := tally{total: len(toRun)}
	var runErr error
	for n, idx := range toRun {
		count := n + 1
		tag := fmt.Sprintf("[%d/%d] In[%d]", n+1, len(toRun), count)
		cellErr, fatal := r.runCell(ctx, interp, nb.cells[idx], tag, count, opts.Timeout, grace)
		t.done++
		if fatal != nil {
			runErr = fatal
			break
		}
		if cellErr != nil {
			t.failed = append(t.failed, fmt.Sprintf("In[%d]", count))
			if !opts.AllowErrors {
				runErr = &CellError{Cell: idx + 1, Count: count, Err: cellErr}
				break
			}
		}
	}
	if runErr != nil {
		// Later cells did not run in this execution: show them so.
		for _, idx := range toRun[t.done:] {
			nb.cells[idx].clear()
		}
	}
	return t, runErr
}

// runCell runs cell c as In[count], writing the progress lines that start
// with tag before and after it. It returns what execute returns.
func (r *run) runCell(ctx context.Context, interp protocol.Interpreter, c *nbCell, tag string, count int, timeout, grace time.Duration) (*protocol.Error, error) {
	c.clear()
	c.executionCount = count
	r.mu.Lock()
	r.progress.endLine()
	r.progress.write(fmt.Sprintf("%s %s\n", tag, firstLine(c.source)))
	r.mu.Unlock()

	cellStart := time.Now()
	cellErr, fatal := execute(ctx, interp, r, c, count, timeout, grace)

	r.mu.Lock()
	r.progress.endLine()
	status := "ok in " + formatDuration(time.Since(cellStart))
	if cellErr != nil {
		status = "failed in " + formatDuration(time.Since(cellStart)) + ": " + cellErr.Error()
	}
	r.progress.write(tag + " " + status + "\n")
	r.mu.Unlock()
	return cellErr, fatal
}

// finish writes the notebook to outPath and the summary line of the run
// that started at start to the progress, and returns the writing error.
func (r *run) finish(nb *notebook, outPath string, t tally, start time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	werr := writeNotebook(nb, outPath)
	summary := fmt.Sprintf("Ran %d of %d code cells in %s", t.done, t.total, formatDuration(time.Since(start)))
	if len(t.failed) > 0 {
		summary += fmt.Sprintf("; %d failed (%s)", len(t.failed), strings.Join(t.failed, ", "))
	}
	if werr == nil {
		summary += "; wrote " + outPath
	}
	r.progress.endLine()
	r.progress.write(summary + "\n")
	return werr
}

// execute runs one cell and records its outputs. It returns the cell's
// error, if any, and a fatal error when the run cannot go on: the run was
// interrupted, or the interpreter did not stop after being cancelled.
func execute(ctx context.Context, interp protocol.Interpreter, r *run, c *nbCell, count int, timeout, grace time.Duration) (cellErr *protocol.Error, fatal error) {
	cellCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if timeout > 0 {
		var cancelTimeout context.CancelFunc
		cellCtx, cancelTimeout = context.WithTimeout(cellCtx, timeout)
		defer cancelTimeout()
	}

	col := &collector{run: r, cell: c}
	req := protocol.ExecuteRequest{
		Code:           c.source,
		StoreHistory:   true,
		AllowStdin:     false,
		StopOnError:    true,
		ExecutionCount: count,
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
			e := protocol.NewError(protocol.TimeoutError, fmt.Sprintf("In[%d] did not stop within %s of being interrupted", count, grace))
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
		value := fmt.Sprintf("In[%d] did not finish within %s and was interrupted", count, timeout)
		e := protocol.NewError(protocol.TimeoutError, value,
			append([]string{string(protocol.TimeoutError) + ": " + value}, res.Error.Lines()...)...)
		col.fail(e)
		return e, nil
	case res.Error != nil:
		col.fail(res.Error)
		if ctx.Err() != nil {
			return res.Error, fmt.Errorf("interrupted at In[%d]: %w", count, ctx.Err())
		}
		return res.Error, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("interrupted after In[%d]: %w", count, ctx.Err())
	}
	return nil, nil
}

// setMetadata writes the perfnb kernelspec and the interpreter's language
// info into the notebook's metadata, keeping other language_info fields.
func setMetadata(nb *notebook, info protocol.Info) error {
	if err := nb.setMeta("kernelspec", kernelspec); err != nil {
		return err
	}
	li := map[string]any{}
	if raw, ok := nb.metadata["language_info"]; ok {
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
	return nb.setMeta("language_info", li)
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
