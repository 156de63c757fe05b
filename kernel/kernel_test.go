package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/perfnb/perfnb/kernel/protocol"
)

// fakeInterp is an Interpreter driven by the cell's text:
//
//	fail      an error after 20 ms
//	block     waits until interrupted
//	input     reads a line with Input and prints it
//	flood:N   N writes of "x\n" to stdout
//	display   a display_data with id "d1", then an update
//	anything  prints "out:<code>" and returns the execution count as result
type fakeInterp struct {
	mu       sync.Mutex
	shutdown []bool
	started  chan struct{} // receives when a "block" cell starts
}

func (f *fakeInterp) Info() protocol.Info {
	return protocol.Info{
		Implementation: "fake", ImplementationVersion: "0.1",
		Language: protocol.LanguageInfo{Name: "go", Version: "go1.26", Mimetype: "text/x-go", FileExtension: ".go",
			PygmentsLexer: "go", CodemirrorMode: "go"},
		Banner:    "fake banner",
		HelpLinks: []protocol.HelpLink{{Text: "Go", URL: "https://go.dev"}},
	}
}

func (f *fakeInterp) Execute(ctx context.Context, req protocol.ExecuteRequest, pub protocol.Publisher) protocol.ExecuteResult {
	switch code := req.Code; {
	case code == "fail":
		// Failing takes a real interpreter some time: the test's next
		// request is sent while this one runs.
		time.Sleep(20 * time.Millisecond)
		return protocol.ExecuteResult{Error: &protocol.Error{Name: "panic", Value: "boom", Traceback: []string{"In[1]:1: boom"}}}
	case code == "block":
		pub.Stream("stdout", "blocking\n")
		if f.started != nil {
			f.started <- struct{}{}
		}
		<-ctx.Done()
		return protocol.ExecuteResult{Error: &protocol.Error{Name: "Interrupted", Value: "the cell was interrupted"}}
	case code == "input":
		v, err := pub.Input(ctx, "name? ", false)
		if err != nil {
			return protocol.ExecuteResult{Error: &protocol.Error{Name: "InputError", Value: err.Error()}}
		}
		pub.Stream("stdout", "got "+v)
		return protocol.ExecuteResult{}
	case strings.HasPrefix(code, "flood:"):
		var n int
		fmt.Sscan(strings.TrimPrefix(code, "flood:"), &n)
		for range n {
			pub.Stream("stdout", "x\n")
		}
		return protocol.ExecuteResult{}
	case code == "display":
		pub.Display(protocol.Bundle{"text/plain": "one"}, nil, "d1")
		pub.UpdateDisplay(protocol.Bundle{"text/plain": "two"}, nil, "d1")
		pub.ClearOutput(true)
		return protocol.ExecuteResult{}
	default:
		pub.Stream("stdout", "out:"+code+"\n")
		return protocol.ExecuteResult{Data: protocol.Bundle{"text/plain": fmt.Sprint(req.ExecutionCount)}}
	}
}

func (f *fakeInterp) Complete(code string, cursor int) protocol.Completion {
	return protocol.Completion{Matches: []string{"Sprint", "Sprintf"}, CursorStart: cursor - 1, CursorEnd: cursor}
}

func (f *fakeInterp) Inspect(code string, cursor, detail int) protocol.Inspection {
	return protocol.Inspection{Found: code == "fmt.Println", Data: protocol.Bundle{"text/plain": "func Println"}}
}

func (f *fakeInterp) IsComplete(code string) protocol.Completeness {
	if strings.HasSuffix(code, "{") {
		return protocol.Completeness{Status: "incomplete", Indent: "\t"}
	}
	return protocol.Completeness{Status: "complete"}
}

func (f *fakeInterp) History(q protocol.HistoryQuery) []protocol.HistoryEntry {
	return []protocol.HistoryEntry{{Session: 1, Line: 1, Input: "a", Output: "1"}}
}

func (f *fakeInterp) Shutdown(restart bool) error {
	f.mu.Lock()
	f.shutdown = append(f.shutdown, restart)
	f.mu.Unlock()
	return nil
}

// testClient drives a kernel like jupyter_client does.
type testClient struct {
	t                     testing.TB
	codec                 *codec
	shell, control, stdin zmq4.Socket
	iopub                 zmq4.Socket
	shellIn, controlIn    chan *message
	stdinIn, iopubIn      chan *message
	ci                    *connectionInfo // the ports bound
}

func (c *testClient) read(sock zmq4.Socket, out chan<- *message) {
	for {
		zm, err := sock.Recv()
		if err != nil {
			close(out)
			return
		}
		m, err := c.codec.decode(zm.Frames)
		if err != nil {
			c.t.Errorf("client cannot decode a kernel message: %v", err)
			continue
		}
		out <- m
	}
}

// startKernel runs Run on free loopback ports with interp and returns a
// connected client and the channel that receives Run's result.
func startKernel(t testing.TB, interp protocol.Interpreter) (*testClient, <-chan error) {
	t.Helper()
	// Port 0 everywhere: Run binds free ports and writes them back.
	return startKernelWith(t, interp, `{"transport":"tcp","ip":"127.0.0.1","key":"test-key","signature_scheme":"hmac-sha256","shell_port":0,"control_port":0,"stdin_port":0,"iopub_port":0,"hb_port":0}`)
}

// startKernelWith is startKernel with the given connection file, whose key
// must be "test-key".
func startKernelWith(t testing.TB, interp protocol.Interpreter, connection string) (*testClient, <-chan error) {
	t.Helper()
	dir := t.TempDir()
	cf := filepath.Join(dir, "kernel.json")
	key := "test-key"
	if err := os.WriteFile(cf, []byte(connection), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	exited := make(chan struct{})
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() {
		done <- Run(ctx, cf, interp, logger)
		close(exited)
	}()

	ci := waitForPorts(t, cf)

	cctx := context.Background()
	id := zmq4.WithID(zmq4.SocketIdentity("client-1"))
	c := &testClient{
		t:         t,
		codec:     newCodec([]byte(key), "tester"),
		shell:     zmq4.NewDealer(cctx, id),
		control:   zmq4.NewDealer(cctx),
		stdin:     zmq4.NewDealer(cctx, id),
		iopub:     zmq4.NewSub(cctx),
		shellIn:   make(chan *message, 100),
		controlIn: make(chan *message, 100),
		stdinIn:   make(chan *message, 100),
		iopubIn:   make(chan *message, 100000),
		ci:        ci,
	}
	for _, d := range []struct {
		s    zmq4.Socket
		port int
	}{{c.shell, ci.ShellPort}, {c.control, ci.ControlPort}, {c.stdin, ci.StdinPort}, {c.iopub, ci.IOPubPort}} {
		if err := d.s.Dial(ci.endpoint(d.port)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		t.Fatal(err)
	}
	go c.read(c.shell, c.shellIn)
	go c.read(c.control, c.controlIn)
	go c.read(c.stdin, c.stdinIn)
	go c.read(c.iopub, c.iopubIn)
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			t.Error("Run did not return after its context was cancelled")
		}
		for _, s := range []zmq4.Socket{c.shell, c.control, c.stdin, c.iopub} {
			s.Close()
		}
	})

	// Like jupyter_client's wait_for_ready: kernel_info until iopub speaks.
	for i := 0; ; i++ {
		c.request(c.control, "kernel_info_request", map[string]any{})
		c.recv(c.controlIn, "kernel_info_reply")
		select {
		case <-c.iopubIn:
			c.drainIOPub(50 * time.Millisecond)
			return c, done
		case <-time.After(100 * time.Millisecond):
		}
		if i == 50 {
			t.Fatal("no iopub message after 50 kernel_info requests")
		}
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// request sends a request and returns its msg_id.
func (c *testClient) request(sock zmq4.Socket, msgType string, content any) string {
	c.t.Helper()
	frames, err := c.codec.encode(nil, msgType, nil, nil, content)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := sock.SendMulti(zmq4.NewMsgFrom(frames...)); err != nil {
		c.t.Fatal(err)
	}
	var h header
	json.Unmarshal(frames[2], &h)
	return h.MsgID
}

// recv waits for the next message on in, which must be of type msgType.
func (c *testClient) recv(in <-chan *message, msgType string) *message {
	c.t.Helper()
	select {
	case m := <-in:
		if m.header.MsgType != msgType {
			c.t.Fatalf("got %s, want %s: %s", m.header.MsgType, msgType, m.content)
		}
		return m
	case <-time.After(5 * time.Second):
		c.t.Fatalf("no %s within 5 s", msgType)
	}
	return nil
}

func (c *testClient) drainIOPub(quiet time.Duration) {
	for {
		select {
		case <-c.iopubIn:
		case <-time.After(quiet):
			return
		}
	}
}

// outputs collects the iopub messages of request id up to its idle status.
func (c *testClient) outputs(id string) []*message {
	c.t.Helper()
	var out []*message
	for {
		select {
		case m := <-c.iopubIn:
			if parentID(m) != id {
				continue
			}
			out = append(out, m)
			if m.header.MsgType == "status" && content(c.t, m)["execution_state"] == "idle" {
				return out
			}
		case <-time.After(5 * time.Second):
			c.t.Fatalf("no idle for %s within 5 s; got %d messages", id, len(out))
		}
	}
}

func parentID(m *message) string {
	var h header
	json.Unmarshal(m.parent, &h)
	return h.MsgID
}

func content(t testing.TB, m *message) map[string]any {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(m.content, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// types lists the msg_types of msgs, with the state of status messages.
func types(t testing.TB, msgs []*message) string {
	var s []string
	for _, m := range msgs {
		if m.header.MsgType == "status" {
			s = append(s, "status:"+content(t, m)["execution_state"].(string))
			continue
		}
		s = append(s, m.header.MsgType)
	}
	return strings.Join(s, " ")
}

func execContent(code string, extra map[string]any) map[string]any {
	c := map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{},
		"allow_stdin": false, "stop_on_error": true}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestKernelInfo(t *testing.T) {
	c, _ := startKernel(t, &fakeInterp{})
	for _, sock := range []struct {
		name string
		s    zmq4.Socket
		in   chan *message
	}{{"shell", c.shell, c.shellIn}, {"control", c.control, c.controlIn}} {
		t.Run(sock.name, func(t *testing.T) {
			id := c.request(sock.s, "kernel_info_request", map[string]any{})
			r := c.recv(sock.in, "kernel_info_reply")
			if parentID(r) != id {
				t.Errorf("reply parent = %s, want %s", parentID(r), id)
			}
			got := content(t, r)
			li, _ := got["language_info"].(map[string]any)
			if got["status"] != "ok" || got["protocol_version"] != "5.3" || got["implementation"] != "fake" ||
				li["name"] != "go" || li["mimetype"] != "text/x-go" || li["file_extension"] != ".go" || got["banner"] != "fake banner" {
				t.Errorf("kernel_info_reply = %v", got)
			}
			if links, _ := got["help_links"].([]any); len(links) != 1 {
				t.Errorf("help_links = %v", got["help_links"])
			}
			if ty := types(t, c.outputs(id)); ty != "status:busy status:idle" {
				t.Errorf("iopub = %s, want busy then idle", ty)
			}
			if r.header.Version != "5.3" {
				t.Errorf("version = %q", r.header.Version)
			}
		})
	}
}

func TestExecute(t *testing.T) {
	c, _ := startKernel(t, &fakeInterp{})
	for i := 1; i <= 2; i++ {
		id := c.request(c.shell, "execute_request", execContent("hello", nil))
		r := c.recv(c.shellIn, "execute_reply")
		got := content(t, r)
		if got["status"] != "ok" || got["execution_count"] != float64(i) {
			t.Errorf("execute_reply = %v, want ok with count %d", got, i)
		}
		outs := c.outputs(id)
		if ty := types(t, outs); ty != "status:busy execute_input stream execute_result status:idle" {
			t.Fatalf("iopub = %s", ty)
		}
		if s := content(t, outs[2]); s["name"] != "stdout" || s["text"] != "out:hello\n" {
			t.Errorf("stream = %v", s)
		}
		if in := content(t, outs[1]); in["code"] != "hello" || in["execution_count"] != float64(i) {
			t.Errorf("execute_input = %v", in)
		}
		res := content(t, outs[3])
		if res["execution_count"] != float64(i) || res["data"].(map[string]any)["text/plain"] != fmt.Sprint(i) {
			t.Errorf("execute_result = %v", res)
		}
	}

	// silent: no execute_input, no result, no count increment.
	id := c.request(c.shell, "execute_request", execContent("quiet", map[string]any{"silent": true}))
	if got := content(t, c.recv(c.shellIn, "execute_reply")); got["execution_count"] != float64(2) {
		t.Errorf("silent reply = %v, want count 2", got)
	}
	if ty := types(t, c.outputs(id)); ty != "status:busy stream status:idle" {
		t.Errorf("silent iopub = %s", ty)
	}
	// store_history false: no increment either.
	id = c.request(c.shell, "execute_request", execContent("nostore", map[string]any{"store_history": false}))
	if got := content(t, c.recv(c.shellIn, "execute_reply")); got["execution_count"] != float64(2) {
		t.Errorf("store_history=false reply = %v, want count 2", got)
	}
	c.outputs(id)
}

func TestDisplay(t *testing.T) {
	c, _ := startKernel(t, &fakeInterp{})
	id := c.request(c.shell, "execute_request", execContent("display", nil))
	c.recv(c.shellIn, "execute_reply")
	outs := c.outputs(id)
	if ty := types(t, outs); ty != "status:busy execute_input display_data update_display_data clear_output status:idle" {
		t.Fatalf("iopub = %s", ty)
	}
	for _, m := range outs[2:4] {
		tr, _ := content(t, m)["transient"].(map[string]any)
		if tr["display_id"] != "d1" {
			t.Errorf("%s transient = %v", m.header.MsgType, tr)
		}
	}
}

func TestErrorAndStopOnError(t *testing.T) {
	c, _ := startKernel(t, &fakeInterp{})
	// A failing cell and a second one sent without waiting.
	failID := c.request(c.shell, "execute_request", execContent("fail", nil))
	nextID := c.request(c.shell, "execute_request", execContent("hello", nil))

	r := content(t, c.recv(c.shellIn, "execute_reply"))
	if r["status"] != "error" || r["ename"] != "panic" || r["evalue"] != "boom" {
		t.Errorf("reply to the failing cell = %v", r)
	}
	if tb, _ := r["traceback"].([]any); len(tb) != 1 {
		t.Errorf("traceback = %v", r["traceback"])
	}
	outs := c.outputs(failID)
	if ty := types(t, outs); ty != "status:busy execute_input error status:idle" {
		t.Errorf("iopub = %s, want exactly one error output", ty)
	}
	r2 := c.recv(c.shellIn, "execute_reply")
	if parentID(r2) != nextID || content(t, r2)["status"] != "aborted" {
		t.Errorf("queued cell reply = %v, want aborted", content(t, r2))
	}
	if n, ok := content(t, r2)["execution_count"]; ok {
		t.Errorf("aborted reply has execution_count %v: front ends would number the cell that did not run", n)
	}
	c.outputs(nextID)

	// After the error, a new request runs normally.
	id := c.request(c.shell, "execute_request", execContent("hello", nil))
	if got := content(t, c.recv(c.shellIn, "execute_reply")); got["status"] != "ok" {
		t.Errorf("cell after the abort = %v", got)
	}
	c.outputs(id)

	// stop_on_error false: the queued cell runs.
	c.request(c.shell, "execute_request", execContent("fail", map[string]any{"stop_on_error": false}))
	c.request(c.shell, "execute_request", execContent("hello", nil))
	c.recv(c.shellIn, "execute_reply")
	if got := content(t, c.recv(c.shellIn, "execute_reply")); got["status"] != "ok" {
		t.Errorf("cell after a failure with stop_on_error false = %v", got)
	}
}

func TestInterrupt(t *testing.T) {
	f := &fakeInterp{started: make(chan struct{}, 1)}
	c, _ := startKernel(t, f)
	id := c.request(c.shell, "execute_request", execContent("block", nil))
	<-f.started
	// The kernel answers kernel_info and heartbeat-like control traffic while the cell runs.
	c.request(c.control, "kernel_info_request", map[string]any{})
	c.recv(c.controlIn, "kernel_info_reply")
	start := time.Now()
	c.request(c.control, "interrupt_request", map[string]any{})
	if got := content(t, c.recv(c.controlIn, "interrupt_reply")); got["status"] != "ok" {
		t.Errorf("interrupt_reply = %v", got)
	}
	r := content(t, c.recv(c.shellIn, "execute_reply"))
	if r["status"] != "error" || r["ename"] != "Interrupted" {
		t.Errorf("reply of the interrupted cell = %v", r)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the interrupt took %v", d)
	}
	outs := c.outputs(id)
	if ty := types(t, outs); !strings.HasPrefix(ty, "status:busy execute_input stream") || !strings.HasSuffix(ty, "error status:idle") {
		t.Errorf("iopub = %s", ty)
	}
}

func TestInput(t *testing.T) {
	c, _ := startKernel(t, &fakeInterp{})
	id := c.request(c.shell, "execute_request", execContent("input", map[string]any{"allow_stdin": true}))
	req := c.recv(c.stdinIn, "input_request")
	if parentID(req) != id || content(t, req)["prompt"] != "name? " {
		t.Errorf("input_request = %v (parent %s)", content(t, req), parentID(req))
	}
	c.request(c.stdin, "input_reply", map[string]any{"value": "gopher"})
	c.recv(c.shellIn, "execute_reply")
	outs := c.outputs(id)
	if ty := types(t, outs); ty != "status:busy execute_input stream status:idle" || content(t, outs[2])["text"] != "got gopher" {
		t.Errorf("iopub = %s", ty)
	}

	// allow_stdin false: the interpreter gets ErrStdinNotAllowed.
	c.request(c.shell, "execute_request", execContent("input", nil))
	if r := content(t, c.recv(c.shellIn, "execute_reply")); r["evalue"] != protocol.ErrStdinNotAllowed.Error() {
		t.Errorf("reply without stdin = %v", r)
	}
}

func TestStreamCoalescing(t *testing.T) {
	c, _ := startKernel(t, &fakeInterp{})
	const n = 200000
	id := c.request(c.shell, "execute_request", execContent(fmt.Sprintf("flood:%d", n), nil))
	c.recv(c.shellIn, "execute_reply")
	var text strings.Builder
	streams := 0
	for _, m := range c.outputs(id) {
		if m.header.MsgType == "stream" {
			streams++
			text.WriteString(content(t, m)["text"].(string))
		}
	}
	if text.Len() != 2*n {
		t.Errorf("got %d bytes of stream text, want %d", text.Len(), 2*n)
	}
	if max := 2*n/streamFlushSize + 50; streams > max {
		t.Errorf("%d stream messages for %d writes, want at most %d", streams, n, max)
	}
}

func TestOtherRequests(t *testing.T) {
	c, _ := startKernel(t, &fakeInterp{})
	tests := []struct {
		msgType, replyType string
		content            map[string]any
		check              func(map[string]any) bool
	}{
		{"complete_request", "complete_reply", map[string]any{"code": "fmt.Spé", "cursor_pos": 7},
			func(r map[string]any) bool {
				return r["status"] == "ok" && r["cursor_end"] == float64(7) && len(r["matches"].([]any)) == 2
			}},
		{"complete_request", "complete_reply", map[string]any{"code": "héllo", "cursor_pos": nil},
			func(r map[string]any) bool { return r["cursor_end"] == float64(5) }},
		{"inspect_request", "inspect_reply", map[string]any{"code": "fmt.Println", "cursor_pos": 5, "detail_level": 0},
			func(r map[string]any) bool { return r["status"] == "ok" && r["found"] == true }},
		{"is_complete_request", "is_complete_reply", map[string]any{"code": "func f() {"},
			func(r map[string]any) bool { return r["status"] == "incomplete" && r["indent"] == "\t" }},
		{"is_complete_request", "is_complete_reply", map[string]any{"code": "x := 1"},
			func(r map[string]any) bool { _, has := r["indent"]; return r["status"] == "complete" && !has }},
		{"history_request", "history_reply", map[string]any{"hist_access_type": "tail", "n": 10, "output": true},
			func(r map[string]any) bool {
				h := r["history"].([]any)
				e := h[0].([]any)
				return len(h) == 1 && e[0] == float64(1) && e[2].([]any)[1] == "1"
			}},
		{"history_request", "history_reply", map[string]any{"hist_access_type": "tail", "n": 10, "output": false},
			func(r map[string]any) bool { return r["history"].([]any)[0].([]any)[2] == "a" }},
		{"comm_info_request", "comm_info_reply", map[string]any{},
			func(r map[string]any) bool { return r["status"] == "ok" && r["comms"] != nil }},
		{"no_such_request", "no_such_reply", map[string]any{},
			func(r map[string]any) bool { return r["status"] == "error" }},
	}
	for _, tc := range tests {
		t.Run(tc.msgType, func(t *testing.T) {
			id := c.request(c.shell, tc.msgType, tc.content)
			r := c.recv(c.shellIn, tc.replyType)
			if got := content(t, r); !tc.check(got) {
				t.Errorf("%s = %v", tc.replyType, got)
			}
			if ty := types(t, c.outputs(id)); ty != "status:busy status:idle" {
				t.Errorf("iopub = %s", ty)
			}
		})
	}

	id := c.request(c.shell, "comm_open", map[string]any{"comm_id": "c1", "target_name": "nope", "data": map[string]any{}})
	outs := c.outputs(id)
	if ty := types(t, outs); ty != "status:busy comm_close status:idle" || content(t, outs[1])["comm_id"] != "c1" {
		t.Errorf("comm_open answered with %s", ty)
	}
}

func TestForgedMessagesAreDropped(t *testing.T) {
	c, _ := startKernel(t, &fakeInterp{})
	forger := newCodec([]byte("wrong-key"), "mallory")
	frames, _ := forger.encode(nil, "execute_request", nil, nil, execContent("hello", nil))
	unsigned := append([][]byte{}, frames...)
	unsigned[1] = nil
	for _, bad := range []zmq4.Msg{
		zmq4.NewMsgFrom(frames...),
		zmq4.NewMsgFrom(unsigned...),
		zmq4.NewMsgFrom([]byte("junk")),
		zmq4.NewMsgFrom([]byte(delimiter), []byte("sig"), []byte("{")),
	} {
		if err := c.shell.SendMulti(bad); err != nil {
			t.Fatal(err)
		}
	}
	// A replayed message (same signature as an accepted one) is dropped too.
	good, _ := c.codec.encode(nil, "kernel_info_request", nil, nil, map[string]any{})
	c.shell.SendMulti(zmq4.NewMsgFrom(good...))
	c.recv(c.shellIn, "kernel_info_reply")
	c.shell.SendMulti(zmq4.NewMsgFrom(good...))

	id := c.request(c.shell, "execute_request", execContent("hello", nil))
	r := c.recv(c.shellIn, "execute_reply")
	if parentID(r) != id || content(t, r)["execution_count"] != float64(1) {
		t.Errorf("first reply after forged messages = %v, want the real request's with count 1", content(t, r))
	}
	select {
	case m := <-c.shellIn:
		t.Errorf("unexpected extra reply %s", m.header.MsgType)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestShutdown(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprint("restart=", restart), func(t *testing.T) {
			f := &fakeInterp{}
			c, done := startKernel(t, f)
			start := time.Now()
			id := c.request(c.control, "shutdown_request", map[string]any{"restart": restart})
			if r := content(t, c.recv(c.controlIn, "shutdown_reply")); r["restart"] != restart || r["status"] != "ok" {
				t.Errorf("shutdown_reply = %v", r)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v, want nil", err)
				}
			case <-time.After(time.Second):
				t.Fatal("Run did not return within 1 s of shutdown_request")
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("shutdown took %v", d)
			}
			f.mu.Lock()
			if len(f.shutdown) != 1 || f.shutdown[0] != restart {
				t.Errorf("interpreter Shutdown calls = %v", f.shutdown)
			}
			f.mu.Unlock()
			timeout := time.After(2 * time.Second)
			for found := false; !found; {
				select {
				case m := <-c.iopubIn:
					found = m.header.MsgType == "shutdown_reply" && parentID(m) == id
				case <-timeout:
					t.Fatal("no shutdown_reply on iopub")
				}
			}
		})
	}
}

func TestShutdownWhileCellRuns(t *testing.T) {
	f := &fakeInterp{started: make(chan struct{}, 1)}
	c, done := startKernel(t, f)
	c.request(c.shell, "execute_request", execContent("block", nil))
	<-f.started
	c.request(c.control, "shutdown_request", map[string]any{"restart": false})
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Run did not return within 1 s while a cell was running")
	}
}

func TestIPCTransport(t *testing.T) {
	dir, err := os.MkdirTemp("", "kipc") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ip := filepath.Join(dir, "k")
	c, done := startKernelWith(t, &fakeInterp{}, `{"transport":"ipc","ip":"`+ip+`","key":"test-key","shell_port":1,"control_port":2,"stdin_port":3,"iopub_port":4,"hb_port":5}`)
	id := c.request(c.shell, "execute_request", execContent("hello", nil))
	if r := content(t, c.recv(c.shellIn, "execute_reply")); r["status"] != "ok" {
		t.Errorf("execute_reply = %v", r)
	}
	c.outputs(id)
	c.request(c.control, "shutdown_request", map[string]any{"restart": false})
	c.recv(c.controlIn, "shutdown_reply")
	if err := <-done; err != nil {
		t.Errorf("Run returned %v", err)
	}
	if left, _ := filepath.Glob(ip + "-*"); len(left) != 0 {
		t.Errorf("socket files left behind: %v", left)
	}
}

func waitForPorts(t testing.TB, cf string) *connectionInfo {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := readConnectionFile(cf)
		if err == nil && c.ShellPort != 0 && c.HBPort != 0 {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("the kernel did not write its ports: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
