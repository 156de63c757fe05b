package protocol

import (
	"context"
	"errors"
	"strings"
)

// Bundle is a MIME bundle: a MIME type such as "text/plain" or "text/html"
// mapped to its data, as carried by execute_result and display_data.
type Bundle map[string]any

// ErrStdinNotAllowed is returned by Publisher.Input when the client sent the
// execute request with allow_stdin false (nbconvert, for example).
var ErrStdinNotAllowed = errors.New("this client does not accept input: the cell cannot read standard input here")

// Publisher is what an Interpreter uses to talk to the client while a cell
// runs. The kernel implements it on iopub and stdin, with the running
// request as the parent of every message; the headless runner implements it
// by collecting notebook outputs. Its methods are safe for concurrent use.
type Publisher interface {
	// Stream publishes text on "stdout" or "stderr".
	Stream(name, text string)
	// Display publishes display_data. A non-empty displayID lets a later
	// UpdateDisplay replace this output.
	Display(data Bundle, metadata map[string]any, displayID string)
	// UpdateDisplay publishes update_display_data for an earlier Display
	// with the same displayID.
	UpdateDisplay(data Bundle, metadata map[string]any, displayID string)
	// ClearOutput publishes clear_output; with wait, the client clears when
	// the next output arrives.
	ClearOutput(wait bool)
	// Input sends an input_request on stdin and waits for the reply. It
	// returns ErrStdinNotAllowed when the client does not accept input, and
	// ctx.Err() when the cell is interrupted while waiting.
	Input(ctx context.Context, prompt string, password bool) (string, error)
}

// ExecuteRequest is the part of an execute_request an Interpreter needs.
type ExecuteRequest struct {
	Code            string
	Silent          bool
	StoreHistory    bool
	AllowStdin      bool
	StopOnError     bool
	UserExpressions map[string]string
	// ExecutionCount is the count of this execution (the n of In[n]). The
	// kernel owns the counter; it increments it only when StoreHistory is set
	// and Silent is not.
	ExecutionCount int
}

// ExecuteResult is what an Interpreter answers for one execution.
type ExecuteResult struct {
	// Data is the value of a trailing expression, published as
	// execute_result; nil when the cell has none.
	Data     Bundle
	Metadata map[string]any
	// Error, when not nil, is published as the single error output of the
	// cell and the reply has status "error".
	Error *Error
	// Payload goes into execute_reply (for example a "page" payload for
	// name? help).
	Payload []map[string]any
	// UserExpressions holds the evaluated user_expressions, each a
	// {"status": "ok", "data": ..., "metadata": ...} or error object.
	UserExpressions map[string]any
}

// Error is a cell's failure as Jupyter shows it. Make one with NewError,
// once, where the failure is known; the layers above pass it on unchanged.
type Error struct {
	Name      string   // ename: the text of the error's Kind
	Value     string   // evalue, one line
	Traceback []string // lines shown to the user; may contain ANSI colours
}

// Error returns the error's name and value.
func (e *Error) Error() string {
	if e.Value == "" {
		return e.Name
	}
	return e.Name + ": " + e.Value
}

// TracebackText returns the traceback as one string, or the error's text
// when there is no traceback.
func (e *Error) TracebackText() string {
	return strings.Join(e.Lines(), "\n")
}

// LanguageInfo describes the language for kernel_info_reply.
type LanguageInfo struct {
	Name              string
	Version           string
	Mimetype          string
	FileExtension     string
	PygmentsLexer     string
	CodemirrorMode    string
	NBConvertExporter string
}

// HelpLink is an entry of kernel_info_reply's help_links.
type HelpLink struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// Info is what kernel_info_reply says about the interpreter.
type Info struct {
	Implementation        string
	ImplementationVersion string
	Language              LanguageInfo
	Banner                string
	HelpLinks             []HelpLink
}

// Completion answers a complete_request. Cursor positions count Unicode
// code points, as the protocol says.
type Completion struct {
	Matches     []string
	CursorStart int
	CursorEnd   int
	Metadata    map[string]any
}

// Inspection answers an inspect_request.
type Inspection struct {
	Found    bool
	Data     Bundle
	Metadata map[string]any
}

// Completeness answers an is_complete_request.
type Completeness struct {
	Status string // "complete", "incomplete", "invalid" or "unknown"
	Indent string // with "incomplete": the indent of the next line
}

// HistoryQuery is a history_request.
type HistoryQuery struct {
	Output         bool
	Raw            bool
	AccessType     string // "range", "tail" or "search"
	Session        int
	Start, Stop, N int
	Pattern        string
	Unique         bool
}

// HistoryEntry is one history item: (session, line, input) or, with output,
// (session, line, [input, output]).
type HistoryEntry struct {
	Session int
	Line    int
	Input   string
	Output  string
}

// Interpreter runs code for the kernel. The kernel calls Execute, Complete,
// Inspect, IsComplete and History from one goroutine, one request at a
// time; Interrupts arrive by cancelling the context given to Execute.
type Interpreter interface {
	Info() Info
	// Execute runs one cell. It must return soon (well under a second)
	// after ctx is cancelled, with an Error saying the cell was interrupted.
	Execute(ctx context.Context, req ExecuteRequest, pub Publisher) ExecuteResult
	// Complete and Inspect take the cursor position in code points.
	Complete(code string, cursor int) Completion
	Inspect(code string, cursor, detailLevel int) Inspection
	IsComplete(code string) Completeness
	History(q HistoryQuery) []HistoryEntry
	// Shutdown stops child processes and removes temporary files. With
	// restart, the interpreter is about to be replaced by a fresh one.
	Shutdown(restart bool) error
}
