// Package kernel speaks the Jupyter messaging protocol (version 5.3) over
// ZeroMQ: it reads a connection file, binds the shell, iopub, stdin, control
// and heartbeat sockets, signs and checks messages, and dispatches requests
// to a protocol.Interpreter. It knows the protocol, not Go. The ZeroMQ sockets
// themselves (ZMTP, and what a peer without the key is refused) are
// package zmtp's.
//
// # Goroutines
//
// One goroutine reads each connection to the shell, control and stdin
// sockets and decodes what arrives: a message with a bad or missing
// signature (or one replayed), malformed frames or invalid JSON is logged
// and dropped there. Replies are written, on the connection the request
// came from, by the goroutine that sends them, one system call per
// message (status busy and execute_input share one); iopub messages too,
// to every subscriber that keeps up, while one that is behind gets them
// through a bounded queue and a goroutine of its own (package zmtp): on a
// busy machine every hand-off between goroutines waits for a thread, and
// no subscriber may hold the others up.
// Shell requests are handled one at a time by the shell goroutine, which
// calls the Interpreter; control requests (kernel_info, interrupt,
// shutdown), input replies and signals are handled by the goroutine that
// called Run, so an interrupt or a shutdown is answered while a cell runs.
// The heartbeat echoes from the reader goroutine of its connection.
//
// # Files
//
//   - connection.go: the connection file and endpoints (tcp, ipc).
//   - limits.go: what the sockets refuse (PERFNB_MAX_MESSAGE_SIZE).
//   - sockets.go: the five sockets, from package zmtp: shell, control,
//     stdin and the heartbeat are ROUTERs, iopub a PUB.
//   - wire.go: framing of Jupyter messages, HMAC-SHA256 signing and
//     checking, headers.
//   - kernel.go: Run, publishing, replies, interrupt, shutdown, stdin.
//   - dispatch.go, handlers.go: the requests.
//   - publisher.go: the Publisher of a running cell, which coalesces
//     stream output (a message per 50 ms or 64 KiB), cuts it in pieces of
//     at most 1 MiB, and sends at most 64 MiB of it per cell.
//   - parent.go: noticing that the client that started the kernel is gone.
//   - logthrottle.go: a log line with the same message at most once a
//     second, so that a peer cannot flood the log.
//
// # Behaviour worth knowing
//
// The kernel owns the execution counter: it increments it for a request
// with store_history set and silent unset. A silent request publishes no
// execute_input and no execute_result. After a failed cell with
// stop_on_error, execute requests received before the failure's reply, or
// sent before it (by their header date) and received within a second, are
// answered "aborted", as ipykernel does for requests queued behind an
// error.
//
// One second after the last shell request ends, the kernel returns the
// memory freed by the garbage collector to the system
// (debug.FreeOSMemory), so that an idle kernel keeps little more than its
// live heap; each request re-arms the timer, so it never runs on a
// request's path.
package kernel
