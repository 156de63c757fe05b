package interp

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/perfnb/perfnb/kernel/protocol"
)

// current is the execution that owns the standard streams: the running
// cell, or the last one once it has ended (goroutines may still print).
type current struct {
	mu    sync.Mutex
	pub   protocol.Publisher
	ctx   context.Context
	count int
	trace []string // yaegi's panic trace lines since the cell started
	// stdinRefused is set when the running evaluation tried to read
	// standard input and the client does not accept input.
	stdinRefused bool
	// muted drops every output while earlier cells' declarations are
	// replayed, so that their prints and displays do not show again.
	muted bool
}

// mute drops outputs until unmute is called.
func (c *current) mute() {
	c.mu.Lock()
	c.muted = true
	c.mu.Unlock()
}

func (c *current) unmute() {
	c.mu.Lock()
	c.muted = false
	c.mu.Unlock()
}

func (c *current) set(ctx context.Context, pub protocol.Publisher, count int) {
	c.mu.Lock()
	c.pub, c.ctx, c.count, c.trace, c.stdinRefused = pub, ctx, count, nil, false
	c.mu.Unlock()
}

// refuseStdin records that a read of standard input was refused.
func (c *current) refuseStdin() {
	c.mu.Lock()
	c.stdinRefused = true
	c.mu.Unlock()
}

// takeStdinRefused reports (and forgets) whether a read of standard input
// was refused since the evaluation started.
func (c *current) takeStdinRefused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.stdinRefused
	c.stdinRefused = false
	return r
}

func (c *current) get() (protocol.Publisher, context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.muted {
		return nil, c.ctx
	}
	return c.pub, c.ctx
}

func (c *current) publisher() protocol.Publisher {
	p, _ := c.get()
	return p
}

func (c *current) addTrace(line string) {
	c.mu.Lock()
	c.trace = append(c.trace, line)
	c.mu.Unlock()
}

func (c *current) takeTrace() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.trace
	c.trace = nil
	return t
}

// stream is an io.Writer publishing on a stream of the current execution.
type stream struct {
	cur  *current
	name string
}

func (s *stream) Write(p []byte) (int, error) {
	pub := s.cur.publisher()
	if pub == nil {
		return len(p), nil
	}
	// In pieces, so that a huge write is not copied whole into a string.
	for rest := p; len(rest) > 0; {
		n := min(len(rest), streamPiece)
		for n < len(rest) && n > streamPiece-utf8.UTFMax && !utf8.RuneStart(rest[n]) {
			n-- // not inside a character
		}
		pub.Stream(s.name, string(rest[:n]))
		rest = rest[n:]
	}
	return len(p), nil
}

// streamPiece is the most of a write published at once.
const streamPiece = 1 << 20

// traceLine matches the lines yaegi writes on its standard error while a
// panic unwinds interpreted frames.
var traceLine = regexp.MustCompile(`^(?:\S+:)?\d+:\d+: panic`)

// yaegiStderr is yaegi's own standard error: panic trace lines are kept
// for the cell's traceback, everything else (log output) is published.
type yaegiStderr struct {
	cur *current
	out *stream
}

func (w *yaegiStderr) Write(p []byte) (int, error) {
	s := string(p)
	if traceLine.MatchString(s) {
		for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			w.cur.addTrace(l)
		}
		return len(p), nil
	}
	return w.out.Write(p)
}

// stdin reads lines from the client: each time its buffer is empty it
// asks the current execution's publisher for one line.
type stdin struct {
	cur   *current
	mu    sync.Mutex
	count int // execution whose line is buffered
	data  []byte
	pos   int
	last  int // size of the last rune read, for UnreadRune
}

// fill makes sure unread data is buffered; it is called with mu held.
func (r *stdin) fill() error {
	pub, ctx := r.cur.get()
	r.cur.mu.Lock()
	count := r.cur.count
	r.cur.mu.Unlock()
	if count != r.count {
		r.count, r.data, r.pos, r.last = count, nil, 0, 0
	}
	if r.pos < len(r.data) {
		return nil
	}
	if pub == nil {
		return io.EOF
	}
	if ctx == nil {
		ctx = context.Background()
	}
	line, err := pub.Input(ctx, "", false)
	if err != nil {
		if errors.Is(err, protocol.ErrStdinNotAllowed) {
			// The read returns the error to the cell's code, and the
			// cell fails once the item ends (see Interp.Eval), as
			// IPython's StdinNotImplementedError does.
			r.cur.refuseStdin()
		}
		return err
	}
	r.data, r.pos, r.last = []byte(line+"\n"), 0, 0
	return nil
}

func (r *stdin) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fill(); err != nil {
		return 0, err
	}
	n := copy(p, r.data[r.pos:])
	r.pos += n
	r.last = 0
	return n, nil
}

// ReadRune makes fmt's scanning functions read exactly what they consume.
func (r *stdin) ReadRune() (rune, int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fill(); err != nil {
		return 0, 0, err
	}
	c, size := utf8.DecodeRune(r.data[r.pos:])
	r.pos += size
	r.last = size
	return c, size, nil
}

// UnreadRune steps back over the last rune ReadRune returned.
func (r *stdin) UnreadRune() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == 0 || r.pos < r.last {
		return io.ErrNoProgress
	}
	r.pos -= r.last
	r.last = 0
	return nil
}

// File stands for os.Stdin, os.Stdout and os.Stderr inside cells: it
// reads from the client's input and writes to the cell's output streams.
// It has the *os.File methods that make sense for a standard stream.
type File struct {
	name string
	r    io.Reader
	w    io.Writer
	fd   uintptr
}

// Read reads standard input.
func (f *File) Read(p []byte) (int, error) {
	if f.r == nil {
		return 0, &errBadStream{f.name, "read"}
	}
	return f.r.Read(p)
}

// ReadRune reads one rune of standard input.
func (f *File) ReadRune() (rune, int, error) {
	if rs, ok := f.r.(io.RuneScanner); ok {
		return rs.ReadRune()
	}
	return 0, 0, &errBadStream{f.name, "read"}
}

// UnreadRune steps back over the last rune read.
func (f *File) UnreadRune() error {
	if rs, ok := f.r.(io.RuneScanner); ok {
		return rs.UnreadRune()
	}
	return &errBadStream{f.name, "read"}
}

// Write writes to the stream.
func (f *File) Write(p []byte) (int, error) {
	if f.w == nil {
		return 0, &errBadStream{f.name, "write"}
	}
	return f.w.Write(p)
}

// WriteString writes s to the stream.
func (f *File) WriteString(s string) (int, error) { return f.Write([]byte(s)) }

// Name returns the file's name, for example "/dev/stdout".
func (f *File) Name() string { return f.name }

// Fd returns the conventional descriptor number of the stream.
func (f *File) Fd() uintptr { return f.fd }

// Sync does nothing: output is published as soon as it is written.
func (f *File) Sync() error { return nil }

// Close does nothing: the kernel's streams stay open.
func (f *File) Close() error { return nil }

type errBadStream struct{ name, op string }

func (e *errBadStream) Error() string { return e.op + " " + e.name + ": bad file descriptor" }
