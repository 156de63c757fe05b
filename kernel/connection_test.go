package kernel

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
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

func TestReadConnectionFileRefusesHugeFiles(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, []byte(`{"shell_port":7}`+strings.Repeat(" ", maxConnectionFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", big} {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if _, err := readConnectionFile(path); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("readConnectionFile(%s) = %v, want an error saying it is too large", path, err)
		}
	}
}

func TestEmptyKeyIsWarnedAbout(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "kernel.json")
	conn := `{"transport":"tcp","ip":"127.0.0.1","key":"","shell_port":0,"control_port":0,"stdin_port":0,"iopub_port":0,"hb_port":0}`
	if err := os.WriteFile(cf, []byte(conn), 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Run(ctx, cf, &fakeInterp{}, slog.New(slog.NewTextHandler(&log, nil)))
	if !strings.Contains(log.String(), "empty key") {
		t.Errorf("the log does not warn about the empty key:\n%s", log.String())
	}
}

func TestTransportLimits(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    int64
		wantErr bool
	}{
		{"", 64 << 20, false},
		{"134217728", 128 << 20, false},
		{" 1048576 ", 1 << 20, false},
		{"100", 0, true},
		{"256MiB", 256 << 20, false},
		{"1k", 0, true},
		{"lots", 0, true},
		{"-1", 0, true},
	} {
		t.Setenv(MaxMessageSizeEnv, tc.env)
		lim, err := transportLimits()
		if (err != nil) != tc.wantErr || err == nil && lim.MaxMessageSize != tc.want {
			t.Errorf("%s=%q: %d, %v; want %d (error: %v)", MaxMessageSizeEnv, tc.env, lim.MaxMessageSize, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), MaxMessageSizeEnv) {
			t.Errorf("the error does not name the variable: %v", err)
		}
	}
}
