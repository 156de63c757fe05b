// Package protocol is the seam between the Jupyter protocol and the
// interpreter: the Interpreter and Publisher interfaces and the values they
// exchange (execute requests and results, MIME bundles, errors, completion,
// inspection, history). It imports only the standard library, so that what
// cells and magics call (runtime/display, magics) does not depend on the
// transport: package kernel speaks the protocol over ZeroMQ and calls an
// Interpreter; the runner calls the same Interpreter headless.
package protocol
