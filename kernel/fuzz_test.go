package kernel

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecode decodes wire messages, as the kernel does before anything
// else reads them: frames are the input split at NUL bytes, signed with
// the key when the input asks (its first byte odd), so that the fuzzer
// gets past the signature to the JSON.
func FuzzDecode(f *testing.F) {
	for _, content := range []string{"{}", `{"code":"1+1"}`, "[]", "{", `{"a":` + "\x00"} {
		f.Add(append([]byte{1}, bytes.Join([][]byte{[]byte("id"), []byte(delimiter), []byte(testHeader), []byte("{}"), []byte("{}"), []byte(content)}, []byte{0})...))
	}
	f.Add([]byte("\x00<IDS|MSG>\x00sig\x00{}\x00{}\x00{}\x00{}"))
	key := []byte("secret")
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		sign := in[0]&1 == 1
		frames := bytes.Split(in[1:], []byte{0})
		c := newCodec(key, "k")
		if sign {
			// Insert the signature after the delimiter, if there is one.
			for i, fr := range frames {
				if string(fr) == delimiter && len(frames) >= i+5 {
					rest := frames[i+1:]
					sig := c.sign(rest[0], rest[1], rest[2], rest[3])
					frames = append(frames[:i+1:i+1], append([][]byte{sig}, rest...)...)
					break
				}
			}
		}
		m, err := c.decode(frames)
		if err != nil {
			return
		}
		if !sign {
			t.Fatal("an unsigned message was accepted")
		}
		if m.header.MsgType == "" || !json.Valid(m.content) || !isObject(m.content) {
			t.Errorf("accepted a message with header %+v and content %q", m.header, m.content)
		}
		if _, err := c.decode(frames); err == nil {
			t.Error("the same message was accepted twice")
		}
	})
}

// FuzzConnectionFile parses connection files.
func FuzzConnectionFile(f *testing.F) {
	f.Add([]byte(`{"transport":"tcp","ip":"127.0.0.1","key":"k","signature_scheme":"hmac-sha256","shell_port":1,"control_port":2,"stdin_port":3,"iopub_port":4,"hb_port":5}`))
	f.Add([]byte(`{"transport":"ipc","ip":"/tmp/k","shell_port":1,"control_port":2,"stdin_port":3,"iopub_port":4,"hb_port":5}`))
	f.Add([]byte(`{"shell_port":-1}`))
	f.Add([]byte(`{"transport":"udp"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ci, err := parseConnectionInfo(data)
		if err != nil {
			return
		}
		if ci.Transport != "tcp" && ci.Transport != "ipc" || ci.IP == "" {
			t.Errorf("accepted transport %q, ip %q", ci.Transport, ci.IP)
		}
		for _, p := range []int{ci.ShellPort, ci.ControlPort, ci.StdinPort, ci.IOPubPort, ci.HBPort} {
			if p < 0 || p > 65535 || p == 0 && ci.Transport == "ipc" {
				t.Errorf("accepted port %d on %s", p, ci.Transport)
			}
			_ = ci.endpoint(p)
		}
	})
}
