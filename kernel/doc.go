// Package kernel speaks the Jupyter messaging protocol (version 5.3) over
// ZeroMQ: it reads a connection file, binds the shell, iopub, stdin, control
// and heartbeat sockets, signs and checks messages, and dispatches requests
// to an Interpreter. It knows the protocol, not Go.
package kernel
