package gotool

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "bin")
	goBin := filepath.Join(dir, "go")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goBin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		environ []string
		want    string
	}{
		{"on PATH", []string{"PATH=/nonexistent:" + dir}, goBin},
		{"in GOROOT", []string{"PATH=/nonexistent", "GOROOT=" + root}, goBin},
		{"last PATH wins", []string{"PATH=/nonexistent", "PATH=" + dir}, goBin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := Find(tt.environ); got != tt.want {
				t.Errorf("Find = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	user := []string{"HOME=/h", "GOFLAGS=-mod=vendor -tags=x", "GOOS=plan9", "GOPROXY=https://p", "GOWORK=/u/go.work", "GOTOOLCHAIN=auto"}
	tests := []struct {
		name   string
		policy Policy
		want   []string // in the result
		absent []string // prefixes not in the result
	}{
		{"offline, no workspace", Policy{Offline: true, Work: "off"},
			[]string{"HOME=/h", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local", "GO111MODULE=on", "GOWORK=off", "GOPROXY=off"},
			[]string{"GOOS=", "GOPROXY=https"}},
		{"the user's modules", Policy{UserFlags: true},
			[]string{"GOFLAGS=-tags=x -buildvcs=false", "GOPROXY=https://p", "GOTOOLCHAIN=local"},
			[]string{"GOWORK=", "GOOS="}},
		{"a go.work", Policy{UserFlags: true, Work: "/w/go.work"}, []string{"GOWORK=/w/go.work"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := Env(user, tt.policy)
			for _, w := range tt.want {
				if !slices.Contains(env, w) {
					t.Errorf("Env lacks %s: %q", w, env)
				}
			}
			for _, a := range tt.absent {
				for _, kv := range env {
					if strings.HasPrefix(kv, a) {
						t.Errorf("Env has %s: %q", kv, env)
					}
				}
			}
		})
	}
}

func TestModVersion(t *testing.T) {
	for in, want := range map[string]string{"go1.26.8": "1.26.8", "go1.27rc1 X:foo": "1.27", "devel +abc": "1.24", "go1.26": "1.26"} {
		if got := ModVersion(in); got != want {
			t.Errorf("ModVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
