package protocol

// Kind is the kind of a cell's failure. Its text is the error's ename, the
// name Jupyter shows: compare kinds, never enames spelled out, and make an
// error with NewError. A Kind is also an error, so that errors.Is(err, kind)
// finds an *Error of that kind anywhere in err's chain.
type Kind string

// The kinds of failure the kernel reports. A magic's own failures (a file
// it cannot write, a report it cannot read) have a kind of their own,
// named after the magic: TimeitError, MemitError (see magics.ErrorKind).
const (
	// Generic is a failure of no more precise kind: the interpreter could
	// not start or is closed, a result cannot be encoded.
	Generic Kind = "Error"
	// Interrupted: the cell was interrupted (interrupt_request, SIGINT).
	Interrupted Kind = "Interrupted"
	// SyntaxError: the cell does not parse.
	SyntaxError Kind = "SyntaxError"
	// CompileError: the cell does not type-check or compile.
	CompileError Kind = "CompileError"
	// ImportError: a package cannot be imported into interpreted cells.
	ImportError Kind = "ImportError"
	// Panic: the cell panicked. Its ename is Go's word, "panic".
	Panic Kind = "panic"
	// Exit: the cell called os.Exit (or log.Fatal, b.Fatal in a child).
	Exit Kind = "Exit"
	// Crash: a magic's child process died of a fatal error or a signal.
	Crash Kind = "Crash"
	// FatalError: Go's runtime ended the interpreter process (a fatal
	// error, an unrecovered panic in a goroutine, a signal).
	FatalError Kind = "FatalError"
	// Timeout: a magic's child ran past its time limit.
	Timeout Kind = "Timeout"
	// TimeoutError: perfnb run's cell did not finish within its timeout.
	TimeoutError Kind = "TimeoutError"
	// MemoryLimitExceeded: a cell, a magic's child or the interpreter
	// process passed its memory limit and was stopped.
	MemoryLimitExceeded Kind = "MemoryLimitExceeded"
	// StdinNotAllowed: the cell read standard input from a client that
	// does not accept input.
	StdinNotAllowed Kind = "StdinNotAllowed"
	// UsageError: a magic's arguments are wrong, as in IPython.
	UsageError Kind = "UsageError"
	// GoError: the go command failed (%go get, %go mod).
	GoError Kind = "GoError"
	// KernelPanic: the Interpreter panicked (a bug in perfnb, not in the
	// cell); the kernel goes on.
	KernelPanic Kind = "KernelPanic"
)

// Error returns the kind's name, so that a Kind can be the target of
// errors.Is.
func (k Kind) Error() string { return string(k) }

// NewError returns the cell's error of the given kind. Its traceback is
// the lines given or, without any, the one line "kind: value".
func NewError(kind Kind, value string, traceback ...string) *Error {
	e := &Error{Name: string(kind), Value: value, Traceback: traceback}
	if len(traceback) == 0 {
		e.Traceback = []string{e.Error()}
	}
	return e
}

// Kind returns the error's kind.
func (e *Error) Kind() Kind { return Kind(e.Name) }

// Is reports whether target is the error's Kind, for errors.Is.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind()
}

// Lines returns the traceback, or the error's one line when it has none.
func (e *Error) Lines() []string {
	if len(e.Traceback) == 0 {
		return []string{e.Error()}
	}
	return e.Traceback
}
