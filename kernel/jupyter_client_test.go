package kernel

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientScript drives the kernel with Debian's jupyter_client. It prints
// "PASS" at the end, or fails with an assertion.
const clientScript = `
import sys, time
from jupyter_client import BlockingKernelClient

kc = BlockingKernelClient(connection_file=sys.argv[1])
kc.load_connection_file()
kc.start_channels()
kc.wait_for_ready(timeout=10)

info = kc.kernel_info(reply=True, timeout=5)["content"]
assert info["status"] == "ok" and info["language_info"]["name"] == "go", info

outputs = []
reply = kc.execute_interactive("hello", timeout=5, output_hook=outputs.append)
assert reply["content"]["status"] == "ok", reply["content"]
kinds = [m["msg_type"] for m in outputs]
assert kinds == ["status", "execute_input", "stream", "execute_result", "status"], kinds
assert outputs[2]["content"]["text"] == "out:hello\n", outputs[2]["content"]

# stop_on_error: the second request is sent without waiting.
kc.execute("fail")
second = kc.execute("hello")
r1 = kc.get_shell_msg(timeout=5)
r2 = kc.get_shell_msg(timeout=5)
assert r1["content"]["status"] == "error" and r1["content"]["ename"] == "panic", r1["content"]
assert r2["parent_header"]["msg_id"] == second and r2["content"]["status"] == "aborted", r2["content"]

# interrupt on control while a cell blocks
msg_id = kc.execute("block")
while True:
    m = kc.get_iopub_msg(timeout=5)
    if m["msg_type"] == "stream" and m["parent_header"].get("msg_id") == msg_id:
        break
assert kc.hb_channel.is_beating()
start = time.time()
kc.control_channel.send(kc.session.msg("interrupt_request", {}))
ir = kc.get_control_msg(timeout=5)
assert ir["msg_type"] == "interrupt_reply", ir
r = kc.get_shell_msg(timeout=5)
assert r["content"]["status"] == "error" and r["content"]["ename"] == "Interrupted", r["content"]
assert time.time() - start < 1, time.time() - start

# input
outputs = []
kc.execute_interactive("input", allow_stdin=True, timeout=5, output_hook=outputs.append, stdin_hook=lambda m: kc.input("gopher"))
texts = [m["content"]["text"] for m in outputs if m["msg_type"] == "stream"]
assert texts == ["got gopher"], texts

kc.shutdown()
r = kc.get_control_msg(timeout=5)
assert r["msg_type"] == "shutdown_reply", r
kc.stop_channels()
print("PASS")
`

// TestWithJupyterClient runs the kernel in-process and drives it with the
// real jupyter_client (skipped when /usr/bin/python3 lacks it).
func TestWithJupyterClient(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import jupyter_client").Run(); err != nil {
		t.Skip("no jupyter_client under /usr/bin/python3")
	}
	dir := t.TempDir()
	cf := filepath.Join(dir, "kernel.json")
	os.WriteFile(cf, []byte(`{"transport":"tcp","ip":"127.0.0.1","key":"a0436f6c-1916-498b-8eb9-e81ab9368e84","signature_scheme":"hmac-sha256","shell_port":0,"control_port":0,"stdin_port":0,"iopub_port":0,"hb_port":0}`), 0o600)
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { done <- Run(context.Background(), cf, &fakeInterp{}, logger) }()
	waitForPorts(t, cf)

	script := filepath.Join(dir, "client.py")
	os.WriteFile(script, []byte(clientScript), 0o600)
	cmd := exec.Command(python, script, cf)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("jupyter_client script failed: %v\n%s", err, out)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(time.Second):
		t.Error("Run did not return within 1 s of the client's shutdown")
	}
}
