// Package zmtp serves the kernel's side of its ZeroMQ sockets: a ROUTER
// (shell, control, stdin and the heartbeat) and a PUB (iopub), speaking
// ZMTP 3.0 with the NULL mechanism over tcp and ipc. Clients see ordinary
// ZeroMQ sockets: jupyter_client (libzmq) and go-zeromq/zmq4 connect to
// them unchanged.
//
// It replaces go-zeromq/zmq4 on the kernel's side, for two reasons.
//
// Speed. zmq4's ROUTER and PUB hand every message to a goroutine of their
// own and write each frame with its own system call; on two busy cores
// every hand-off waits for a thread, which put the busy status after the
// cell had run. Here a message is given to its handler in the reader
// goroutine of its connection, and written by the goroutine that sends
// it, in one system call per message (per batch of messages on a PUB);
// a PUB hands a subscriber's messages to that subscriber's own goroutine
// only when the subscriber is behind.
//
// Safety. zmq4 allocates the size a frame header announces before reading
// the frame (ten bytes announcing 2^40 bytes end the process with "out of
// memory"), panics on a READY command whose metadata is cut short, holds a
// handshake that never completes for ever, and its accept loop spins on
// EMFILE. Here every length a peer announces is checked against Limits
// before anything is allocated, buffers grow with the bytes that actually
// arrive, what peers can make the kernel hold (incomplete messages, each
// frame's cost included, and subscriptions) is bounded per connection and
// in total (Budget), a handshake and a message that stops arriving have
// deadlines, each socket has a cap on its connections, and the accept
// loop backs off on errors (running out of descriptors) and keeps
// serving. A PUB never waits for a subscriber: each has a bounded queue,
// and messages beyond it are dropped for that subscriber (ZeroMQ's
// high-water mark). A ROUTER answers on the connection a request came
// from, so that a peer announcing another's identity receives nothing of
// it.
//
// # What is implemented
//
// The greeting (version 3.0, mechanism NULL), the READY command with its
// Socket-Type and Identity properties, frames with the MORE, LONG and
// COMMAND flags, PING answered with PONG, and SUBSCRIBE and CANCEL
// commands as well as ZMTP 3.0's subscription messages. A ROUTER accepts
// DEALER, REQ and ROUTER peers and routes by their announced identity (one
// starting with a zero byte is replaced by a generated one, which such
// identities are reserved for); a new peer with a connected peer's
// identity does not take it over (ZeroMQ's default, ZMQ_ROUTER_HANDOVER
// unset), but unlike ZeroMQ it is kept, and gets the identity when the
// first peer goes. A PUB accepts SUB and XSUB peers and filters by topic
// prefix. There is no CURVE or PLAIN security, no outgoing connection,
// and a ROUTER has no queue: a message to a peer that is not connected is
// dropped, as a ROUTER drops it.
package zmtp
