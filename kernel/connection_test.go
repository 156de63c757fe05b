package kernel

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConnectionInfo(t *testing.T) {
	tests := []struct {
		name      string
		json      string
		wantErr   string
		wantShell string
	}{
		{"tcp", `{"transport":"tcp","ip":"127.0.0.1","key":"k","signature_scheme":"hmac-sha256","shell_port":5001,"control_port":5002,"stdin_port":5003,"iopub_port":5004,"hb_port":5005}`, "", "tcp://127.0.0.1:5001"},
		{"ipc", `{"transport":"ipc","ip":"/tmp/kernel-x","key":"","shell_port":1,"control_port":2,"stdin_port":3,"iopub_port":4,"hb_port":5}`, "", "ipc:///tmp/kernel-x-1"},
		{"defaults", `{"shell_port":7}`, "", "tcp://127.0.0.1:7"},
		{"ipv6", `{"ip":"::1","shell_port":7}`, "", "tcp://[::1]:7"},
		{"unknown transport", `{"transport":"udp","shell_port":7}`, "transport", ""},
		{"unknown scheme", `{"key":"k","signature_scheme":"hmac-md5","shell_port":7}`, "hmac-md5", ""},
		{"bad port", `{"shell_port":70000}`, "shell_port", ""},
		{"ipc without port", `{"transport":"ipc","shell_port":1}`, "control_port", ""},
		{"not JSON", `{`, "JSON", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ci, err := parseConnectionInfo([]byte(tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ci.endpoint(ci.ShellPort); got != tc.wantShell {
				t.Errorf("shell endpoint = %q, want %q", got, tc.wantShell)
			}
		})
	}
}

func TestReadConnectionFileMissing(t *testing.T) {
	_, err := readConnectionFile(filepath.Join(t.TempDir(), "nope.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want a not-exist error", err)
	}
}
