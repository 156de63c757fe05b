package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/kernel/zmtp"
)

const (
	// shutdownCellGrace is how long a shutdown waits for a running cell to
	// return after its context is cancelled.
	shutdownCellGrace = 400 * time.Millisecond
	// iopubDrainDelay gives clients a moment to read the last messages
	// before the sockets close (closing a connection with unread incoming
	// data resets it).
	iopubDrainDelay = 20 * time.Millisecond
	// queueSize is the length of each socket's incoming message queue.
	queueSize = 256
	// idleFreeDelay is how long the shell must have been idle before the
	// kernel returns the memory its garbage occupied to the system.
	idleFreeDelay = time.Second
)

// Run serves the Jupyter protocol for interp on the sockets that the
// connection file names, until a shutdown_request arrives or ctx is done.
// Log lines (dropped messages, socket errors) go to logger.
//
// Run returns nil after a shutdown_request, and ctx.Err() when ctx is done;
// in both cases it has called interp.Shutdown and closed the sockets.
// While Run serves, SIGINT interrupts the running cell instead of ending
// the process, and SIGTERM shuts the kernel down as a shutdown_request
// would (Run then returns nil).
func Run(ctx context.Context, connectionFile string, interp protocol.Interpreter, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = slog.New(newThrottle(logger.Handler()))
	// From the start: jupyter_client sends SIGINT to the process group.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	// SIGTERM (jupyter_client's fallback when a shutdown times out) still
	// stops child processes and removes temporary files.
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	defer signal.Stop(terms)
	ci, err := readConnectionFile(connectionFile)
	if err != nil {
		return err
	}
	if ci.Key == "" {
		logger.Warn("the connection file has an empty key: messages are neither signed nor checked, so any process that can reach the kernel's ports can run code in it")
	}
	k, in, err := listen(connectionFile, ci, interp, logger)
	if err != nil {
		return err
	}
	defer k.socks.close()
	defer k.stop()

	go k.shellLoop(in.shell)

	k.publish("status", nil, map[string]any{"execution_state": "starting"})
	logger.Debug("kernel started", "transport", ci.Transport, "ip", ci.IP, "shell_port", ci.ShellPort, "session", k.codec.session)
	return k.serve(ctx, in, sigs, terms)
}

// inbox holds the queues of decoded messages from the ROUTER sockets.
type inbox struct {
	shell, control, stdin chan *message
}

// listen makes the kernel for interp and binds its sockets as ci says.
// When ci leaves a port to the system (port 0), it writes the ports
// chosen back to connectionFile.
func listen(connectionFile string, ci *connectionInfo, interp protocol.Interpreter, logger *slog.Logger) (*kernel, inbox, error) {
	lim, err := transportLimits()
	if err != nil {
		return nil, inbox{}, err
	}
	anyZero := ci.ShellPort == 0 || ci.ControlPort == 0 || ci.StdinPort == 0 || ci.IOPubPort == 0 || ci.HBPort == 0
	k := newKernel(ci, interp, logger)
	in := inbox{
		shell:   make(chan *message, queueSize),
		control: make(chan *message, queueSize),
		stdin:   make(chan *message, queueSize),
	}
	socks, err := bindSockets(ci, handlers{
		shell:   k.deliver("shell", in.shell),
		control: k.deliver("control", in.control),
		stdin:   k.deliver("stdin", in.stdin),
	}, lim, logger)
	if err != nil {
		k.stop()
		return nil, inbox{}, err
	}
	k.socks = socks
	if anyZero {
		if err := writeConnectionFile(connectionFile, ci); err != nil {
			k.stop()
			socks.close()
			return nil, inbox{}, err
		}
	}
	return k, in, nil
}

// serve handles control and stdin messages, signals and the shell's
// shutdown requests until the kernel shuts down, as Run says.
func (k *kernel) serve(ctx context.Context, in inbox, sigs, terms <-chan os.Signal) error {
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	orphaned := parentGone(watchCtx)
	socks := k.socks
	for {
		select {
		case <-ctx.Done():
			k.shutdown(nil, socks.control, false)
			return ctx.Err()
		case <-orphaned:
			k.log.Warn("the client that started the kernel is gone: shutting down")
			k.shutdown(nil, socks.control, false)
			return nil
		case <-terms:
			k.log.Debug("SIGTERM: shutting down")
			k.shutdown(nil, socks.control, false)
			return nil
		case <-sigs:
			k.log.Debug("SIGINT: interrupting the running cell")
			k.interrupt()
		case m := <-in.control:
			if k.handleControl(socks.control, m) {
				return nil
			}
		case r := <-k.shellShutdown:
			k.shutdown(r, socks.shell, decodeRestart(r))
			return nil
		case m := <-in.stdin:
			k.handleStdin(m)
		}
	}
}

// kernel is the state of one running kernel.
type kernel struct {
	interp   protocol.Interpreter
	log      *slog.Logger
	codec    *codec
	socks    *sockets
	info     map[string]any // kernel_info_reply content
	topicPre string

	life     context.Context // cancelled at shutdown; parent of every cell
	stopLife context.CancelFunc

	shellBusy     atomic.Bool
	shellDone     chan struct{}      // closed when shellLoop returns
	shellShutdown chan *message      // shutdown_request received on shell
	runMu         sync.Mutex         // guards cancelRun
	cancelRun     context.CancelFunc // cancels the running cell

	// The shell goroutine alone uses these.
	count       int       // execution counter
	abortBefore time.Time // stop_on_error: abort requests sent before this

	// idleFree returns freed memory to the system once the shell has been
	// idle for idleFreeDelay: each request stops it and re-arms it when
	// done, so that it never runs on a request's path.
	idleFree *time.Timer

	inputSlot chan struct{} // one input_request at a time
	inputMu   sync.Mutex
	inputWait chan string // receives the pending input_reply's value
}

func newKernel(ci *connectionInfo, interp protocol.Interpreter, logger *slog.Logger) *kernel {
	name := "perfnb"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	life, stop := context.WithCancel(context.Background())
	k := &kernel{
		interp:        interp,
		log:           logger,
		codec:         newCodec([]byte(ci.Key), name),
		life:          life,
		stopLife:      stop,
		shellDone:     make(chan struct{}),
		shellShutdown: make(chan *message, 1),
		inputSlot:     make(chan struct{}, 1),
	}
	k.idleFree = time.AfterFunc(idleFreeDelay, debug.FreeOSMemory)
	k.topicPre = "kernel." + k.codec.session + "."
	k.info = kernelInfoContent(interp.Info())
	return k
}

func (k *kernel) stop() {
	k.idleFree.Stop()
	k.stopLife()
}

// deliver returns the handler of a ROUTER socket's messages: it decodes
// them and queues them on out. Undecodable messages are logged and
// dropped.
func (k *kernel) deliver(channel string, out chan<- *message) func(from *zmtp.Peer, frames [][]byte) {
	return func(from *zmtp.Peer, frames [][]byte) {
		m, err := k.codec.decode(frames)
		if err != nil {
			k.log.Warn("dropped an invalid message", "channel", channel, "reason", err.Error(), "frames", len(frames))
			return
		}
		m.from = from
		select {
		case out <- m:
		case <-k.life.Done():
		}
	}
}

// publish sends a message on iopub with parent as its parent (or none).
func (k *kernel) publish(msgType string, parent *message, content any) {
	k.publishTogether(parent, iopubMsg{msgType, content})
}

// iopubMsg is a message to publish.
type iopubMsg struct {
	msgType string
	content any
}

// publishTogether publishes messages with parent as their parent, in one
// write to each subscriber.
func (k *kernel) publishTogether(parent *message, msgs ...iopubMsg) {
	all := make([][][]byte, 0, len(msgs))
	for _, m := range msgs {
		frames, err := k.codec.encode([][]byte{[]byte(k.topicPre + m.msgType)}, m.msgType, parent, nil, m.content)
		if err != nil {
			k.log.Error("cannot publish", "msg_type", m.msgType, "err", err)
			continue
		}
		all = append(all, frames)
	}
	if err := k.socks.iopub.Send(all...); err != nil {
		k.log.Warn("cannot publish on iopub", "err", err)
	}
}

// publishStatus publishes the execution state with parent.
func (k *kernel) publishStatus(state string, parent *message) {
	k.publish("status", parent, map[string]any{"execution_state": state})
}

// reply answers request m on sock, on the connection m came from.
func (k *kernel) reply(sock *zmtp.Router, m *message, msgType string, content any) {
	frames, err := k.codec.encode(m.identities, msgType, m, nil, content)
	if err != nil {
		k.log.Error("cannot encode a reply", "msg_type", msgType, "err", err)
		return
	}
	if err := sock.Reply(m.from, frames); err != nil {
		k.log.Warn("cannot send a reply", "msg_type", msgType, "err", err)
	}
}

// interrupt cancels the running cell, if any.
func (k *kernel) interrupt() {
	k.runMu.Lock()
	if k.cancelRun != nil {
		k.cancelRun()
	}
	k.runMu.Unlock()
}

// shutdown stops the running cell, shuts the interpreter down and, for a
// shutdown_request m, replies on sock and on iopub.
func (k *kernel) shutdown(m *message, sock *zmtp.Router, restart bool) {
	k.stopLife()
	select {
	case <-k.shellDone:
	case <-time.After(shutdownCellGrace):
		k.log.Warn("shutdown: the running request did not return in time")
	}
	if err := k.interp.Shutdown(restart); err != nil {
		k.log.Warn("shutdown: the interpreter reported an error", "err", err)
	}
	if m != nil {
		content := map[string]any{"status": "ok", "restart": restart}
		k.reply(sock, m, "shutdown_reply", content)
		k.publish("shutdown_reply", m, content)
	}
	time.Sleep(iopubDrainDelay)
	k.log.Debug("kernel shut down", "restart", restart)
}

// decodeRestart reads the restart flag of a shutdown_request.
func decodeRestart(m *message) bool {
	var c struct {
		Restart bool `json:"restart"`
	}
	_ = json.Unmarshal(m.content, &c)
	return c.Restart
}

// requestInput sends an input_request to the client that sent parent and
// waits for its input_reply.
func (k *kernel) requestInput(ctx context.Context, parent *message, prompt string, password bool) (string, error) {
	select {
	case k.inputSlot <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-k.inputSlot }()

	wait := make(chan string, 1)
	k.inputMu.Lock()
	k.inputWait = wait
	k.inputMu.Unlock()
	defer func() {
		k.inputMu.Lock()
		k.inputWait = nil
		k.inputMu.Unlock()
	}()

	frames, err := k.codec.encode(parent.identities, "input_request", parent, nil,
		map[string]any{"prompt": prompt, "password": password})
	if err != nil {
		return "", fmt.Errorf("cannot encode the input request: %w", err)
	}
	// A client that does not read stdin could hold up the write: do not
	// let that hold up an interrupt.
	go func() {
		if err := k.socks.stdin.SendOrOnly(frames); err != nil {
			k.log.Warn("cannot send an input_request", "err", err)
		}
	}()
	select {
	case v := <-wait:
		return v, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// handleStdin delivers an input_reply to the waiting Input.
func (k *kernel) handleStdin(m *message) {
	if m.header.MsgType != "input_reply" {
		k.log.Warn("unexpected message on stdin", "msg_type", m.header.MsgType)
		return
	}
	var c struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(m.content, &c); err != nil {
		k.log.Warn("dropped an input_reply with bad content", "err", err)
		return
	}
	k.inputMu.Lock()
	wait := k.inputWait
	k.inputMu.Unlock()
	if wait == nil {
		k.log.Warn("dropped an input_reply nobody waits for")
		return
	}
	select {
	case wait <- c.Value:
	default:
		k.log.Warn("dropped a second input_reply for one input_request")
	}
}
