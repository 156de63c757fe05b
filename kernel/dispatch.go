package kernel

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/kernel/zmtp"
)

// handleControl handles one control message; it reports whether the kernel
// has shut down.
func (k *kernel) handleControl(sock *zmtp.Router, m *message) bool {
	switch t := m.header.MsgType; t {
	case "shutdown_request":
		k.shutdown(m, sock, decodeRestart(m))
		return true
	case "interrupt_request":
		k.interrupt()
		k.reply(sock, m, "interrupt_reply", map[string]any{"status": "ok"})
	case "kernel_info_request":
		// jupyter_client waits for any iopub message to declare the kernel
		// ready. Never publish idle while a cell runs: UIs take any status
		// message as the kernel's state.
		busy := k.shellBusy.Load()
		k.publishStatus("busy", m)
		k.reply(sock, m, "kernel_info_reply", k.info)
		if !busy {
			k.publishStatus("idle", m)
		}
	default:
		k.unknown(sock, m)
	}
	return false
}

// shellLoop handles shell messages one at a time until the kernel stops.
func (k *kernel) shellLoop(in <-chan *message) {
	defer close(k.shellDone)
	for {
		select {
		case <-k.life.Done():
			return
		case m := <-in:
			if m.header.MsgType == "shutdown_request" {
				// Old clients send it on shell; Run does the shutdown.
				k.shellShutdown <- m
				return
			}
			k.idleFree.Stop()
			k.handleShell(k.socks.shell, m)
			k.idleFree.Reset(idleFreeDelay)
		}
	}
}

// handleShell handles one shell request between busy and idle.
func (k *kernel) handleShell(sock *zmtp.Router, m *message) {
	k.shellBusy.Store(true)
	if m.header.MsgType != "execute_request" {
		// handleExecute publishes busy together with execute_input.
		k.publishStatus("busy", m)
	}
	defer func() {
		// Not busy before idle is out: a client that reads this idle and
		// sends kernel_info on control at once gets its own idle.
		k.shellBusy.Store(false)
		k.publishStatus("idle", m)
	}()
	defer func() {
		if v := recover(); v != nil {
			k.log.Error("panic while handling a request", "msg_type", m.header.MsgType, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if strings.HasSuffix(m.header.MsgType, "_request") {
				k.reply(sock, m, replyType(m.header.MsgType), errorContent("KernelError", fmt.Sprint(v)))
			}
		}
	}()

	switch m.header.MsgType {
	case "execute_request":
		k.handleExecute(sock, m)
	case "kernel_info_request":
		k.reply(sock, m, "kernel_info_reply", k.info)
	case "complete_request":
		k.handleComplete(sock, m)
	case "inspect_request":
		k.handleInspect(sock, m)
	case "is_complete_request":
		k.handleIsComplete(sock, m)
	case "history_request":
		k.handleHistory(sock, m)
	case "comm_info_request":
		k.reply(sock, m, "comm_info_reply", map[string]any{"status": "ok", "comms": map[string]any{}})
	case "comm_open":
		k.handleCommOpen(m)
	case "comm_msg", "comm_close":
		k.log.Debug("ignored a message for an unknown comm", "msg_type", m.header.MsgType)
	case "interrupt_request":
		k.interrupt()
		k.reply(sock, m, "interrupt_reply", map[string]any{"status": "ok"})
	default:
		k.unknown(sock, m)
	}
}

// unknown logs a message type this kernel does not handle and, for a
// request, answers with an error so that the client does not wait forever.
func (k *kernel) unknown(sock *zmtp.Router, m *message) {
	t := m.header.MsgType
	k.log.Warn("unsupported message type", "msg_type", t)
	if strings.HasSuffix(t, "_request") {
		k.reply(sock, m, replyType(t), errorContent("UnsupportedRequest", "perfnb does not handle "+t))
	}
}

// replyType turns "x_request" into "x_reply".
func replyType(requestType string) string {
	return strings.TrimSuffix(requestType, "_request") + "_reply"
}

// errorContent is the content of a reply with status error.
func errorContent(ename, evalue string) map[string]any {
	return map[string]any{"status": "error", "ename": ename, "evalue": evalue, "traceback": []string{ename + ": " + evalue}}
}

// kernelInfoContent builds the kernel_info_reply content from info.
func kernelInfoContent(info protocol.Info) map[string]any {
	li := map[string]any{
		"name":    info.Language.Name,
		"version": info.Language.Version,
	}
	for key, v := range map[string]string{
		"mimetype":           info.Language.Mimetype,
		"file_extension":     info.Language.FileExtension,
		"pygments_lexer":     info.Language.PygmentsLexer,
		"codemirror_mode":    info.Language.CodemirrorMode,
		"nbconvert_exporter": info.Language.NBConvertExporter,
	} {
		if v != "" {
			li[key] = v
		}
	}
	links := info.HelpLinks
	if links == nil {
		links = []protocol.HelpLink{}
	}
	return map[string]any{
		"status":                 "ok",
		"protocol_version":       protocolVersion,
		"implementation":         info.Implementation,
		"implementation_version": info.ImplementationVersion,
		"language_info":          li,
		"banner":                 info.Banner,
		"help_links":             links,
		"debugger":               false,
	}
}
