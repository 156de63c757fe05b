package scalene

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/magics/profiles"
)

func loadProfile(t *testing.T, name string) *profile.Profile {
	t.Helper()
	p, err := profiles.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRenderPprofFlameGraph(t *testing.T) {
	tests := []struct {
		name, file, si string
		base           bool
		want           []string
	}{
		// The title names the cell, not the test binary (cell-8.test).
		{"cpu", "testdata/cpu.pb.gz", "cpu", false, []string{"perfnbcell.work", "stackViewer(", "<title>In[3] cpu</title>"}},
		{"alloc", "testdata/mem.pb.gz", "alloc_space", false, []string{"perfnbcell.alloc", "stackViewer(", "<title>In[3] alloc_space</title>"}},
		// A difference against itself: every frame is +0.
		{"diff", "testdata/cpu.pb.gz", "cpu", true, []string{"perfnbcell.work", "stackViewer(", "<title>In[3] cpu</title>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadProfile(t, tt.file)
			var base *profile.Profile
			if tt.base {
				base = loadProfile(t, tt.file)
			}
			page, err := RenderPprofFlameGraph(p, base, tt.si, "In[3]")
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

// TestFlameSVGDiff draws a difference: a profile against itself is grey
// everywhere; against a base with half the values, every frame grew.
func TestFlameSVGDiff(t *testing.T) {
	p := loadProfile(t, "testdata/cpu.pb.gz")
	half := p.Copy()
	half.Scale(0.5)
	tests := []struct {
		name       string
		base       *profile.Profile
		fill, word string
	}{
		{"same", p, "hsl(220,10%,82%)", "+0"},
		{"half", half, "hsl(0,", "more than the base"},
	}
	for _, tt := range tests {
		svg, err := FlameSVG(p, SVGOptions{SampleType: "cpu", Base: tt.base, Format: func(v int64) string { return fmt.Sprint(v) }})
		if err != nil {
			t.Fatal(err)
		}
		if n, m := strings.Count(svg, "<rect"), strings.Count(svg, `fill="`+tt.fill); m != n && !strings.HasPrefix(tt.fill, "hsl(0,") || m == 0 {
			t.Errorf("%s: %d of %d frames filled %s", tt.name, m, n, tt.fill)
		}
		if !strings.Contains(svg, tt.word) {
			t.Errorf("%s: titles lack %q", tt.name, tt.word)
		}
	}
}
