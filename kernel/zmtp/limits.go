package zmtp

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Defaults of Limits.
const (
	// DefaultMaxMessageSize is 64 MiB: far above any Jupyter request
	// (a cell's source, an input reply, a comm message with buffers), and
	// small enough that the few messages a Budget lets through at once
	// fit in memory.
	DefaultMaxMessageSize = 64 << 20
	// DefaultMaxConnections is per socket: a client has one connection
	// to each socket, and a notebook server one per open notebook.
	DefaultMaxConnections = 128
	// DefaultHandshakeTimeout bounds a handshake, which takes well under
	// a millisecond on a machine and a round trip or two over a network.
	DefaultHandshakeTimeout = 5 * time.Second
	// DefaultStallTimeout is long enough for a slow network to deliver
	// 64 KiB.
	DefaultStallTimeout = 30 * time.Second
)

const (
	// maxFrames bounds the frames of one message (a Jupyter message has
	// its identities, seven frames and its buffers).
	maxFrames = 1 << 16
	// freeBytes of each message being read are not charged to the
	// Budget, so that ordinary messages get through while large ones
	// are refused.
	freeBytes = 64 << 10
)

// Limits bound what peers can make a socket allocate. A zero field means
// its default.
type Limits struct {
	// MaxMessageSize bounds one incoming message, all its frames
	// together, and one command. A peer that announces more is
	// disconnected before anything is allocated for it.
	MaxMessageSize int64
	// MaxConnections bounds the connections of a socket, handshakes in
	// progress included; connections beyond it are closed when accepted.
	MaxConnections int
	// HandshakeTimeout bounds the greeting and READY exchange of a new
	// connection.
	HandshakeTimeout time.Duration
	// StallTimeout bounds how long a frame larger than 64 KiB may stop
	// arriving, so that a peer cannot hold a share of Pending for ever.
	StallTimeout time.Duration
	// Pending, if not nil, bounds the bytes of incomplete incoming
	// messages held by all the sockets that share it, beyond the first
	// 64 KiB of each message. A connection whose message would exceed it
	// is disconnected.
	Pending *Budget
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = DefaultMaxMessageSize
	}
	if l.MaxConnections <= 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if l.StallTimeout <= 0 {
		l.StallTimeout = DefaultStallTimeout
	}
	return l
}

// Budget is a number of bytes shared by the connections of several
// sockets. It is safe for concurrent use.
type Budget struct {
	max  int64
	used atomic.Int64
}

// NewBudget returns a budget of max bytes.
func NewBudget(max int64) *Budget {
	return &Budget{max: max}
}

// take reserves n bytes, or reports that they would exceed the budget.
func (b *Budget) take(n int64) bool {
	if b == nil {
		return true
	}
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

// give returns n bytes reserved by take.
func (b *Budget) give(n int64) {
	if b != nil && n != 0 {
		b.used.Add(-n)
	}
}

// Used is the number of bytes reserved now.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// ErrTooLarge is the cause of a disconnection for a message, command or
// frame larger than Limits allow.
var ErrTooLarge = errors.New("message larger than the kernel accepts")

// tooLarge describes a refused size.
func tooLarge(what string, size uint64, max int64) error {
	return fmt.Errorf("%w: a %s of %d bytes, the maximum is %d", ErrTooLarge, what, size, max)
}
