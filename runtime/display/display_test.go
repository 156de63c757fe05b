package display

import (
	"reflect"
	"testing"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
)

func TestDisplayBundles(t *testing.T) {
	tests := []struct {
		name string
		show func(d *Display) *Handle
		want protocol.Bundle
	}{
		{"HTML", func(d *Display) *Handle { return d.HTML("<p>a &amp; <b>b</b></p>") },
			protocol.Bundle{"text/html": "<p>a &amp; <b>b</b></p>", "text/plain": "a & b"}},
		{"Markdown", func(d *Display) *Handle { return d.Markdown("# t") },
			protocol.Bundle{"text/markdown": "# t", "text/plain": "# t"}},
		{"SVG", func(d *Display) *Handle { return d.SVG("<svg/>") },
			protocol.Bundle{"image/svg+xml": "<svg/>", "text/plain": "[SVG image]"}},
		{"PNG", func(d *Display) *Handle { return d.PNG([]byte("abc")) },
			protocol.Bundle{"image/png": "YWJj", "text/plain": "[PNG image, 3 bytes]"}},
		{"JPEG", func(d *Display) *Handle { return d.JPEG([]byte{0xff}) },
			protocol.Bundle{"image/jpeg": "/w==", "text/plain": "[JPEG image, 1 bytes]"}},
		{"JSON", func(d *Display) *Handle { return d.JSON(struct{ A []int }{[]int{1}}) },
			protocol.Bundle{"application/json": map[string]any{"A": []any{1.0}}, "text/plain": "{\n  \"A\": [\n    1\n  ]\n}"}},
		{"JSON error", func(d *Display) *Handle { return d.JSON(make(chan int)) },
			protocol.Bundle{"text/plain": "display.JSON: cannot encode the value as JSON: json: unsupported type: chan int"}},
		{"Text", func(d *Display) *Handle { return d.Text("plain") },
			protocol.Bundle{"text/plain": "plain"}},
		{"Bundle", func(d *Display) *Handle { return d.Bundle(map[string]any{"text/latex": "$x$"}) },
			protocol.Bundle{"text/latex": "$x$"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &kerneltest.Publisher{}
			h := tc.show(New(func() protocol.Publisher { return r }))
			outs := r.Outputs()
			if len(outs) != 1 || outs[0].Kind != kerneltest.DisplayKind {
				t.Fatalf("outputs %v, want one display", outs)
			}
			if !reflect.DeepEqual(outs[0].Data, tc.want) {
				t.Errorf("bundle %#v, want %#v", outs[0].Data, tc.want)
			}
			if h.ID() == "" || outs[0].DisplayID != h.ID() {
				t.Errorf("display id %q, handle id %q", outs[0].DisplayID, h.ID())
			}
		})
	}
}

func TestHandleUpdates(t *testing.T) {
	r := &kerneltest.Publisher{}
	d := New(func() protocol.Publisher { return r })
	h := d.Text("0")
	other := d.Text("x")
	h.HTML("<i>1</i>")
	h.Markdown("2")
	h.SVG("<svg/>")
	h.PNG([]byte{1})
	h.JPEG([]byte{2})
	h.JSON(3)
	h.Text("4")
	h.Bundle(map[string]any{"text/plain": "5"})
	d.ClearOutput()
	d.ClearOutputWait()
	outs := r.Outputs()
	if h.ID() == other.ID() {
		t.Fatal("two displays share an id")
	}
	updates := outs[2:10]
	for k, o := range updates {
		if o.Kind != kerneltest.UpdateKind || o.DisplayID != h.ID() {
			t.Errorf("output %d = %s of %q, want an update of %q", k, o.Kind, o.DisplayID, h.ID())
		}
	}
	if got := updates[0].Data["text/html"]; got != "<i>1</i>" {
		t.Errorf("HTML update %v", updates[0].Data)
	}
	if got := updates[7].Data["text/plain"]; got != "5" {
		t.Errorf("Bundle update %v", updates[7].Data)
	}
	if c := outs[10:]; len(c) != 2 || c[0].Kind != kerneltest.ClearKind || c[0].Wait || !c[1].Wait {
		t.Errorf("clears %v", c)
	}
}

func TestNoPublisher(t *testing.T) {
	d := New(func() protocol.Publisher { return nil })
	d.HTML("x").Text("y")
	d.ClearOutput()
}

func TestSymbols(t *testing.T) {
	d := New(func() protocol.Publisher { return nil })
	syms := d.Symbols()
	for _, name := range []string{"HTML", "Markdown", "SVG", "PNG", "JPEG", "JSON", "Text", "Bundle", "ClearOutput", "ClearOutputWait", "Handle"} {
		if !syms[name].IsValid() {
			t.Errorf("symbol %s missing", name)
		}
	}
}
