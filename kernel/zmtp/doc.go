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
// goroutine of its connection, and written by the goroutine that sends it,
// in one system call per message (per batch of messages on a PUB).
//
// Safety. zmq4 allocates the size a frame header announces before reading
// the frame (ten bytes announcing 2^40 bytes end the process with "out of
// memory"), panics on a READY command whose metadata is cut short, holds a
// handshake that never completes for ever, and its accept loop spins on
// EMFILE. Here every length a peer announces is checked against Limits
// before anything is allocated, buffers grow with the bytes that actually
// arrive, the bytes that peers can make the kernel hold are bounded
// (Budget), the handshake and a large frame that stops arriving have
// deadlines, each socket has a cap on its connections, and the accept loop backs off on errors (running out of
// descriptors) and keeps serving.
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
// identity takes it over, as with ZMQ_ROUTER_HANDOVER. A PUB accepts SUB
// and XSUB peers and filters by topic prefix. There is no CURVE or PLAIN
// security, no outgoing connection and no queue: a message to a peer that
// is not connected is dropped, as a ROUTER drops it.
package zmtp
