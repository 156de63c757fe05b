package scalene

import (
	"os"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

func loadProfile(t *testing.T, name string) *profile.Profile {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRenderPprofFlameGraph(t *testing.T) {
	tests := []struct {
		file, si string
		want     []string
	}{
		{"testdata/cpu.pb.gz", "cpu", []string{"perfnbcell.work", "stackViewer("}},
		{"testdata/mem.pb.gz", "alloc_space", []string{"perfnbcell.alloc", "stackViewer("}},
	}
	for _, tt := range tests {
		t.Run(tt.si, func(t *testing.T) {
			page, err := RenderPprofFlameGraph(loadProfile(t, tt.file), tt.si)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(page), w) {
					t.Errorf("page (%d bytes) lacks %q", len(page), w)
				}
			}
			if os.Getenv("SCALENE_DUMP") != "" {
				os.WriteFile("/tmp/pprof-"+tt.si+".html", page, 0o644)
			}
		})
	}
}
