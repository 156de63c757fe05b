package scalene
import ("testing";"fmt";"strings";"html")
func TestSizeDbg(t *testing.T) {
	r := testdataResult(t)
	for _, c := range []struct{p any; si string}{{r.CPU,"cpu"},{r.Mem,"alloc_space"}} {
		_ = c
	}
	svg, _ := FlameSVG(r.CPU, SVGOptions{SampleType: "cpu"})
	svgm, _ := FlameSVG(r.Mem, SVGOptions{SampleType: "alloc_space"})
	pg, _ := RenderPprofFlameGraph(r.CPU, "cpu")
	pgm, _ := RenderPprofFlameGraph(r.Mem, "alloc_space")
	fmt.Println("svg", len(svg), len(svgm), "pprof", len(pg), len(pgm), "embedded", len(EmbedPprofPage(pg, "x", 100)), len(EmbedPprofPage(pgm, "x", 100)), strings.Count(string(pg), `"`), html.EscapeString(""))
}
