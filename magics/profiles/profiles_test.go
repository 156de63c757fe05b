package profiles

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestDir(t *testing.T) {
	home := t.TempDir()
	env := t.TempDir()
	flag := filepath.Join(t.TempDir(), "a", "b")
	tests := []struct {
		name, flag, env, want string
	}{
		{"pprof's default", "", "", filepath.Join(home, "pprof")},
		{"PPROF_TMPDIR", "", env, env},
		{"--profile-dir wins", flag, env, flag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv(DirEnv, tt.env)
			got, err := Dir(tt.flag)
			if err != nil || got != tt.want {
				t.Fatalf("Dir(%q) = %q, %v; want %q", tt.flag, got, err, tt.want)
			}
			if fi, err := os.Stat(got); err != nil || !fi.IsDir() {
				t.Errorf("%s was not created: %v", got, err)
			}
		})
	}
}

func TestNamer(t *testing.T) {
	at := time.Date(2026, 11, 21, 13, 5, 1, 0, time.Local)
	name := Namer(5, at)
	if got, want := name("cpu"), "perfnb.cell5.cpu.20261121-130501.pb.gz"; got != want {
		t.Errorf("cpu: %q, want %q", got, want)
	}
	if got, want := name("fast.mem"), "perfnb.cell5.fast.mem.20261121-130501.pb.gz"; got != want {
		t.Errorf("variant: %q, want %q", got, want)
	}
	dir := t.TempDir()
	first := UniquePath(dir, name("cpu"))
	if err := os.WriteFile(first, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	second := UniquePath(dir, name("cpu"))
	if second != filepath.Join(dir, "perfnb.cell5.cpu.20261121-130501.002.pb.gz") {
		t.Errorf("second profile in the same second: %s", second)
	}
	for _, p := range []string{first, second} {
		if !ours.MatchString(filepath.Base(p)) {
			t.Errorf("Prune would not recognise %s", p)
		}
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2026, 11, 21, 13, 0, 0, 0, time.Local)
	var names []string
	for i := range 6 {
		n := Namer(i, base.Add(time.Duration(i)*time.Minute))("cpu")
		names = append(names, n)
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	// Files that are not perfnb's profiles, and a link named like one,
	// are never removed.
	others := []string{"pprof.perfnb.samples.cpu.001.pb.gz", "notes.txt", "perfnb.cell1.cpu.pb.gz"}
	for _, o := range others {
		if err := os.WriteFile(filepath.Join(dir, o), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := Namer(0, base.Add(-time.Hour))("cpu")
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, link)); err != nil {
		t.Fatal(err)
	}
	if err := Prune(dir, 0); err != nil {
		t.Fatal(err)
	}
	if err := Prune(dir, 4); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := append(append([]string{link}, others...), names[2:]...)
	slices.Sort(want)
	slices.Sort(left)
	if fmt.Sprint(left) != fmt.Sprint(want) {
		t.Errorf("left %v, want %v", left, want)
	}
}

func TestKeep(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want int
		ok   bool
	}{{"", DefaultKeep, true}, {"10", 10, true}, {"0", 0, true}, {"-1", 0, false}, {"many", 0, false}} {
		t.Setenv(KeepEnv, tt.env)
		got, err := Keep()
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s=%q: %d, %v; want %d (ok %v)", KeepEnv, tt.env, got, err, tt.want, tt.ok)
		}
	}
}
