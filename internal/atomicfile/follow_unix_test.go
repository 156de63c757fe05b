//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlantedLink: a link that another user made in a sticky
// world-writable directory (/tmp) is not followed, as open(2) would not
// follow it; the user's own link there is.
func TestPlantedLink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a link owned by another user needs root")
	}
	shared := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	planted := filepath.Join(shared, "report.html")
	own := filepath.Join(shared, "own.html")
	for _, l := range []string{planted, own} {
		if err := os.Symlink(victim, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Lchown(planted, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(planted, []byte("report"), 0o644); err == nil || !strings.Contains(err.Error(), "another user made in a shared directory") {
		t.Errorf("write through a planted link: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the victim was written: %q", b)
	}
	if err := WriteFile(own, []byte("mine"), 0o644); err != nil {
		t.Errorf("write through one's own link: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "mine" {
		t.Errorf("one's own link was not followed: %q", b)
	}
}
