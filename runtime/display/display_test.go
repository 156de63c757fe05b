package display

import (
	"context"
	"reflect"
	"testing"

	"github.com/perfnb/perfnb/kernel"
)

type output struct {
	kind string // "display", "update" or "clear"
	data kernel.Bundle
	id   string
	wait bool
}

type recorder struct{ outs []output }

func (r *recorder) Stream(name, text string) {}
func (r *recorder) Display(data kernel.Bundle, _ map[string]any, id string) {
	r.outs = append(r.outs, output{kind: "display", data: data, id: id})
}
func (r *recorder) UpdateDisplay(data kernel.Bundle, _ map[string]any, id string) {
	r.outs = append(r.outs, output{kind: "update", data: data, id: id})
}
func (r *recorder) ClearOutput(wait bool) { r.outs = append(r.outs, output{kind: "clear", wait: wait}) }
func (r *recorder) Input(context.Context, string, bool) (string, error) {
	return "", kernel.ErrStdinNotAllowed
}

func TestDisplayBundles(t *testing.T) {
	tests := []struct {
		name string
		show func(d *Display) *Handle
		want kernel.Bundle
	}{
		{"HTML", func(d *Display) *Handle { return d.HTML("<p>a &amp; <b>b</b></p>") },
			kernel.Bundle{"text/html": "<p>a &amp; <b>b</b></p>", "text/plain": "a & b"}},
		{"Markdown", func(d *Display) *Handle { return d.Markdown("# t") },
			kernel.Bundle{"text/markdown": "# t", "text/plain": "# t"}},
		{"SVG", func(d *Display) *Handle { return d.SVG("<svg/>") },
			kernel.Bundle{"image/svg+xml": "<svg/>", "text/plain": "[SVG image]"}},
		{"PNG", func(d *Display) *Handle { return d.PNG([]byte("abc")) },
			kernel.Bundle{"image/png": "YWJj", "text/plain": "[PNG image, 3 bytes]"}},
		{"JPEG", func(d *Display) *Handle { return d.JPEG([]byte{0xff}) },
			kernel.Bundle{"image/jpeg": "/w==", "text/plain": "[JPEG image, 1 bytes]"}},
		{"JSON", func(d *Display) *Handle { return d.JSON(struct{ A []int }{[]int{1}}) },
			kernel.Bundle{"application/json": map[string]any{"A": []any{1.0}}, "text/plain": "{\n  \"A\": [\n    1\n  ]\n}"}},
		{"JSON error", func(d *Display) *Handle { return d.JSON(make(chan int)) },
			kernel.Bundle{"text/plain": "display.JSON: cannot encode the value as JSON: json: unsupported type: chan int"}},
		{"Text", func(d *Display) *Handle { return d.Text("plain") },
			kernel.Bundle{"text/plain": "plain"}},
		{"Bundle", func(d *Display) *Handle { return d.Bundle(map[string]any{"text/latex": "$x$"}) },
			kernel.Bundle{"text/latex": "$x$"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			h := tc.show(New(func() kernel.Publisher { return r }))
			if len(r.outs) != 1 || r.outs[0].kind != "display" {
				t.Fatalf("outputs %v, want one display", r.outs)
			}
			if !reflect.DeepEqual(r.outs[0].data, tc.want) {
				t.Errorf("bundle %#v, want %#v", r.outs[0].data, tc.want)
			}
			if h.ID() == "" || r.outs[0].id != h.ID() {
				t.Errorf("display id %q, handle id %q", r.outs[0].id, h.ID())
			}
		})
	}
}

func TestHandleUpdates(t *testing.T) {
	r := &recorder{}
	d := New(func() kernel.Publisher { return r })
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
	if h.ID() == other.ID() {
		t.Fatal("two displays share an id")
	}
	updates := r.outs[2:10]
	for k, o := range updates {
		if o.kind != "update" || o.id != h.ID() {
			t.Errorf("output %d = %s of %q, want an update of %q", k, o.kind, o.id, h.ID())
		}
	}
	if got := updates[0].data["text/html"]; got != "<i>1</i>" {
		t.Errorf("HTML update %v", updates[0].data)
	}
	if got := updates[7].data["text/plain"]; got != "5" {
		t.Errorf("Bundle update %v", updates[7].data)
	}
	if c := r.outs[10:]; len(c) != 2 || c[0].kind != "clear" || c[0].wait || !c[1].wait {
		t.Errorf("clears %v", c)
	}
}

func TestNoPublisher(t *testing.T) {
	d := New(func() kernel.Publisher { return nil })
	d.HTML("x").Text("y")
	d.ClearOutput()
}

func TestSymbols(t *testing.T) {
	d := New(func() kernel.Publisher { return nil })
	syms := d.Symbols()
	for _, name := range []string{"HTML", "Markdown", "SVG", "PNG", "JPEG", "JSON", "Text", "Bundle", "ClearOutput", "ClearOutputWait", "Handle"} {
		if !syms[name].IsValid() {
			t.Errorf("symbol %s missing", name)
		}
	}
}
