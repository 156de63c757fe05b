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
	// DefaultSendHWM is ZeroMQ's default ZMQ_SNDHWM: the messages queued
	// for one peer that does not read as fast as the socket sends.
	DefaultSendHWM = 1000
	// DefaultMaxQueued bounds the bytes queued for one peer: several
	// seconds of a cell's output for a client that reads.
	DefaultMaxQueued = 64 << 20
	// DefaultMaxSubscriptions bounds the subscriptions of one peer, in
	// bytes (each topic's length and subscriptionCost): a Jupyter client
	// subscribes to one topic, the empty one.
	DefaultMaxSubscriptions = 1 << 20
)

const (
	// maxFrames bounds the frames of one message (a Jupyter message has
	// its identities, seven frames and its buffers).
	maxFrames = 1 << 16
	// freeBytes of each message being read are not charged to the
	// Budget, so that ordinary messages get through while large ones
	// are refused.
	freeBytes = 64 << 10
	// frameCost is what a frame costs beyond its bytes: its slice in
	// the message and the rounding of its allocation. A message of many
	// empty frames is charged for them.
	frameCost = 64
	// subscriptionCost is what a subscription costs beyond its topic's
	// bytes (its map entry).
	subscriptionCost = 64
	// freeSubscriptions of each connection's subscriptions are not
	// charged to the Budget.
	freeSubscriptions = 4 << 10
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
	// StallTimeout bounds the pause between two reads of a message once
	// its first byte has arrived: a message left incomplete (a large
	// frame that stops arriving, frames flagged "more" then nothing) is
	// dropped with its connection, so that a peer cannot hold a share of
	// Pending for ever.
	StallTimeout time.Duration
	// Pending, if not nil, bounds what peers make the kernel hold, for
	// all the sockets that share it: the bytes of incomplete incoming
	// messages beyond the first 64 KiB of each (frameCost a frame
	// included), and subscriptions beyond the first 4 KiB of each
	// connection. A connection that would exceed it is disconnected.
	Pending *Budget
	// MaxSubscriptions bounds the subscriptions of one connection to a
	// Pub, in bytes (the topics, and subscriptionCost each); a peer that
	// subscribes beyond it is disconnected.
	MaxSubscriptions int64

	// SendHWM bounds the messages queued for one peer of a Pub, as
	// ZeroMQ's ZMQ_SNDHWM does: beyond it, messages are dropped for that
	// peer, and the sender and the other peers never wait for it.
	SendHWM int
	// MaxQueued bounds the bytes queued for one peer of a Pub; beyond it,
	// messages are dropped for that peer.
	MaxQueued int64
	// Queued, if not nil, bounds the bytes queued for all the peers of
	// the sockets that share it, each message counted once however many
	// peers it waits for. A message that would exceed it is dropped for
	// every peer that is already behind, and still sent to those that
	// are not.
	Queued *Budget
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
	if l.MaxSubscriptions <= 0 {
		l.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if l.SendHWM <= 0 {
		l.SendHWM = DefaultSendHWM
	}
	if l.MaxQueued <= 0 {
		l.MaxQueued = DefaultMaxQueued
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

// takeAnyway reserves n bytes even beyond the budget: for what must go
// through (one message to a subscriber that is not behind).
func (b *Budget) takeAnyway(n int64) {
	if b != nil {
		b.used.Add(n)
	}
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

// ErrStalled is the cause of a disconnection for a message that stopped
// arriving for longer than Limits.StallTimeout.
var ErrStalled = errors.New("message stalled")

// tooLarge describes a refused size.
func tooLarge(what string, size uint64, max int64) error {
	return fmt.Errorf("%w: a %s of %d bytes, the maximum is %d", ErrTooLarge, what, size, max)
}
