package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"
	"unicode/utf8"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/kernel/zmtp"
)

// abortWindow bounds how long after a failed cell a request whose header
// date precedes the failure is still aborted (it was sent before the client
// could see the error, but reached us after it).
const abortWindow = time.Second

// executeContent is the content of an execute_request. Pointers tell an
// absent field from a false one.
type executeContent struct {
	Code            string            `json:"code"`
	Silent          bool              `json:"silent"`
	StoreHistory    *bool             `json:"store_history"`
	UserExpressions map[string]string `json:"user_expressions"`
	AllowStdin      *bool             `json:"allow_stdin"`
	StopOnError     *bool             `json:"stop_on_error"`
}

// toRequest applies the protocol's defaults: store_history is the opposite
// of silent and forced off by it, allow_stdin defaults to false (as in
// ipykernel), stop_on_error to true.
func (c *executeContent) toRequest() protocol.ExecuteRequest {
	r := protocol.ExecuteRequest{
		Code:            c.Code,
		Silent:          c.Silent,
		StoreHistory:    !c.Silent,
		StopOnError:     true,
		UserExpressions: c.UserExpressions,
	}
	if c.StoreHistory != nil && !c.Silent {
		r.StoreHistory = *c.StoreHistory
	}
	if c.AllowStdin != nil {
		r.AllowStdin = *c.AllowStdin
	}
	if c.StopOnError != nil {
		r.StopOnError = *c.StopOnError
	}
	if r.UserExpressions == nil {
		r.UserExpressions = map[string]string{}
	}
	return r
}

// shouldAbort reports whether an execute_request must be answered
// "aborted" because a cell before it failed with stop_on_error.
func (k *kernel) shouldAbort(m *message) bool {
	if k.abortBefore.IsZero() {
		return false
	}
	if m.received.Before(k.abortBefore) {
		return true
	}
	if m.received.Sub(k.abortBefore) > abortWindow {
		return false
	}
	sent, err := time.Parse(time.RFC3339Nano, m.header.Date)
	return err == nil && sent.Before(k.abortBefore)
}

// handleExecute handles an execute_request, publishing status busy first.
func (k *kernel) handleExecute(sock *zmtp.Router, m *message) {
	busy := iopubMsg{"status", map[string]any{"execution_state": "busy"}}
	var c executeContent
	if err := json.Unmarshal(m.content, &c); err != nil {
		k.publishTogether(m, busy)
		k.log.Warn("execute_request with bad content", "err", err)
		k.reply(sock, m, "execute_reply", errorContent("BadRequest", "the execute_request content is malformed: "+err.Error()))
		return
	}
	req := c.toRequest()
	if k.shouldAbort(m) {
		k.publishTogether(m, busy)
		// No execution_count, as ipykernel: the cell did not run, and a
		// count would make front ends show the failed cell's number on it.
		k.reply(sock, m, "execute_reply", map[string]any{"status": "aborted"})
		return
	}
	if req.StoreHistory {
		k.count++
	}
	req.ExecutionCount = k.count
	if req.Silent {
		k.publishTogether(m, busy)
	} else {
		k.publishTogether(m, busy, iopubMsg{"execute_input", map[string]any{"code": req.Code, "execution_count": req.ExecutionCount}})
	}

	pub := newCellPublisher(k, m, req.AllowStdin)
	res := k.runCell(req, pub)
	pub.finish()

	userExpr := res.UserExpressions
	if userExpr == nil {
		userExpr = map[string]any{}
	}
	payload := res.Payload
	if payload == nil {
		payload = []map[string]any{}
	}
	content := map[string]any{
		"status":           "ok",
		"execution_count":  req.ExecutionCount,
		"payload":          payload,
		"user_expressions": userExpr,
	}
	if e := res.Error; e != nil {
		tb := e.Lines()
		k.publish("error", m, map[string]any{"ename": e.Name, "evalue": e.Value, "traceback": tb})
		content["status"] = "error"
		content["ename"] = e.Name
		content["evalue"] = e.Value
		content["traceback"] = tb
		if req.StopOnError && !req.Silent {
			k.abortBefore = time.Now()
		}
	} else if res.Data != nil && !req.Silent {
		md := res.Metadata
		if md == nil {
			md = map[string]any{}
		}
		k.publish("execute_result", m, map[string]any{"data": res.Data, "metadata": md, "execution_count": req.ExecutionCount})
	}
	k.reply(sock, m, "execute_reply", content)
}

// runCell calls Execute with a context that an interrupt or a shutdown
// cancels. A panic in the interpreter becomes the cell's error.
func (k *kernel) runCell(req protocol.ExecuteRequest, pub protocol.Publisher) (res protocol.ExecuteResult) {
	ctx, cancel := context.WithCancel(k.life)
	k.runMu.Lock()
	k.cancelRun = cancel
	k.runMu.Unlock()
	defer func() {
		k.runMu.Lock()
		k.cancelRun = nil
		k.runMu.Unlock()
		cancel()
		if v := recover(); v != nil {
			k.log.Error("the interpreter panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			res = protocol.ExecuteResult{Error: protocol.NewError(protocol.KernelPanic, fmt.Sprint(v),
				"the interpreter panicked: "+fmt.Sprint(v))}
		}
	}()
	return k.interp.Execute(ctx, req, pub)
}

// cursorPos reads a cursor_pos, which defaults to the end of the code;
// both count code points.
func cursorPos(pos *int, code string) int {
	n := utf8.RuneCountInString(code)
	if pos == nil || *pos > n {
		return n
	}
	if *pos < 0 {
		return 0
	}
	return *pos
}

func (k *kernel) handleComplete(sock *zmtp.Router, m *message) {
	var c struct {
		Code      string `json:"code"`
		CursorPos *int   `json:"cursor_pos"`
	}
	if err := json.Unmarshal(m.content, &c); err != nil {
		k.reply(sock, m, "complete_reply", errorContent("BadRequest", err.Error()))
		return
	}
	cur := cursorPos(c.CursorPos, c.Code)
	r := k.interp.Complete(c.Code, cur)
	matches := r.Matches
	if matches == nil {
		matches = []string{}
	}
	md := r.Metadata
	if md == nil {
		md = map[string]any{}
	}
	k.reply(sock, m, "complete_reply", map[string]any{
		"status": "ok", "matches": matches, "cursor_start": r.CursorStart, "cursor_end": r.CursorEnd, "metadata": md,
	})
}

func (k *kernel) handleInspect(sock *zmtp.Router, m *message) {
	var c struct {
		Code        string `json:"code"`
		CursorPos   *int   `json:"cursor_pos"`
		DetailLevel int    `json:"detail_level"`
	}
	if err := json.Unmarshal(m.content, &c); err != nil {
		k.reply(sock, m, "inspect_reply", errorContent("BadRequest", err.Error()))
		return
	}
	r := k.interp.Inspect(c.Code, cursorPos(c.CursorPos, c.Code), c.DetailLevel)
	data, md := r.Data, r.Metadata
	if data == nil {
		data = protocol.Bundle{}
	}
	if md == nil {
		md = map[string]any{}
	}
	k.reply(sock, m, "inspect_reply", map[string]any{"status": "ok", "found": r.Found, "data": data, "metadata": md})
}

func (k *kernel) handleIsComplete(sock *zmtp.Router, m *message) {
	var c struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(m.content, &c); err != nil {
		k.reply(sock, m, "is_complete_reply", errorContent("BadRequest", err.Error()))
		return
	}
	r := k.interp.IsComplete(c.Code)
	status := r.Status
	if status == "" {
		status = "unknown"
	}
	content := map[string]any{"status": status}
	if status == "incomplete" {
		content["indent"] = r.Indent
	}
	k.reply(sock, m, "is_complete_reply", content)
}

func (k *kernel) handleHistory(sock *zmtp.Router, m *message) {
	var c struct {
		Output     bool   `json:"output"`
		Raw        bool   `json:"raw"`
		AccessType string `json:"hist_access_type"`
		Session    int    `json:"session"`
		Start      int    `json:"start"`
		Stop       int    `json:"stop"`
		N          int    `json:"n"`
		Pattern    string `json:"pattern"`
		Unique     bool   `json:"unique"`
	}
	if err := json.Unmarshal(m.content, &c); err != nil {
		k.reply(sock, m, "history_reply", errorContent("BadRequest", err.Error()))
		return
	}
	entries := k.interp.History(protocol.HistoryQuery{
		Output: c.Output, Raw: c.Raw, AccessType: c.AccessType, Session: c.Session,
		Start: c.Start, Stop: c.Stop, N: c.N, Pattern: c.Pattern, Unique: c.Unique,
	})
	history := make([]any, 0, len(entries))
	for _, e := range entries {
		if c.Output {
			var out any
			if e.Output != "" {
				out = e.Output
			}
			history = append(history, []any{e.Session, e.Line, []any{e.Input, out}})
		} else {
			history = append(history, []any{e.Session, e.Line, e.Input})
		}
	}
	k.reply(sock, m, "history_reply", map[string]any{"status": "ok", "history": history})
}

// handleCommOpen closes a comm at once: perfnb registers no comm targets.
func (k *kernel) handleCommOpen(m *message) {
	var c struct {
		CommID     string `json:"comm_id"`
		TargetName string `json:"target_name"`
	}
	if err := json.Unmarshal(m.content, &c); err != nil || c.CommID == "" {
		k.log.Warn("comm_open without a comm_id")
		return
	}
	k.log.Debug("no comm target of that name: closing the comm", "target_name", c.TargetName)
	k.publish("comm_close", m, map[string]any{"comm_id": c.CommID, "data": map[string]any{}})
}
