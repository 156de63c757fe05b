package gomod

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/runtime/modules"
)

func TestGo(t *testing.T) {
	folder := t.TempDir()
	if err := os.WriteFile(filepath.Join(folder, "go.mod"), []byte("module example.test/here\n\ngo 1.24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOPROXY=off")
	mods, err := modules.Open(context.Background(), modules.Options{Folder: folder, StateDir: t.TempDir(), Environ: env})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src string
		m         *Magic
		stdout    string // in the output
		errText   string // in the error; "" for none
	}{
		{"mod", "%go mod", New(mods, nil), "folder's module: example.test/here", ""},
		{"get offline", "%go get github.com/nobody-perfnb/nothing@v1.0.0", New(mods, nil), "GOPROXY=off", "go get github.com/nobody-perfnb/nothing@v1.0.0 failed"},
		{"no subcommand", "%go", New(mods, nil), "", "usage: %go get"},
		{"unknown subcommand", "%go build", New(mods, nil), "", "usage: %go get"},
		{"get without module", "%go get", New(mods, nil), "", "usage: %go get MODULE"},
		{"flag refused", "%go get -x github.com/a/b", New(mods, nil), "", "takes modules and -u"},
		{"mod with arguments", "%go mod tidy", New(mods, nil), "", "takes no arguments"},
		{"no module context", "%go mod", New(nil, errors.New("no go command")), "", "no module context: no go command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &kerneltest.Publisher{}
			_, err := tt.m.Run(context.Background(), magicstest.Call(t, 1, tt.src), magics.Env{Publisher: pub})
			switch {
			case tt.errText == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)):
				t.Fatalf("error %v, want one containing %q", err, tt.errText)
			}
			if !strings.Contains(pub.Text("stdout"), tt.stdout) {
				t.Errorf("stdout %q, want %q in it", pub.Text("stdout"), tt.stdout)
			}
		})
	}
}
