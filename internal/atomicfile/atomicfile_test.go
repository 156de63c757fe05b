package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.txt")
	if err := os.WriteFile(real, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.txt")
	os.Symlink("real.txt", link) // relative, as most links are
	dangling := filepath.Join(dir, "dangling.txt")
	os.Symlink(filepath.Join(dir, "later.txt"), dangling)
	loop := filepath.Join(dir, "loop.txt")
	os.Symlink(loop, loop)

	tests := []struct {
		name, path, wantFile string
		wantPerm             os.FileMode
		err                  string
	}{
		{"a new file", filepath.Join(dir, "new.txt"), "new.txt", 0o644, ""},
		{"an existing file keeps its mode", real, "real.txt", 0o600, ""},
		{"a link writes the file it names", link, "real.txt", 0o600, ""},
		{"a dangling link creates its target", dangling, "later.txt", 0o644, ""},
		{"a directory", dir, "", 0, "is a directory, not a regular file"},
		{"a device", "/dev/null", "", 0, "is a device, not a regular file"},
		{"a loop of links", loop, "", 0, "symbolic links in a row"},
		{"a missing directory", filepath.Join(dir, "no", "x.txt"), "", 0, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteFile(tt.path, []byte("new"), 0o644)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := filepath.Join(dir, tt.wantFile)
			b, err := os.ReadFile(got)
			fi, _ := os.Lstat(got)
			if err != nil || string(b) != "new" || fi.Mode() != tt.wantPerm {
				t.Errorf("%s: %q, mode %v, %v", got, b, fi.Mode(), err)
			}
		})
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
