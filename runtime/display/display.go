// Package display is the rich-output API that Go cells call without an
// import: display.HTML, Markdown, SVG, PNG, JPEG, JSON, Text, Bundle and
// ClearOutput, each publishing display_data (or clear_output) through the
// protocol.Publisher of the running cell.
//
// Every display function returns a *Handle naming its output (a Jupyter
// display id). The handle's methods of the same names replace that output
// in place with update_display_data, which is how a cell animates a
// progress bar or refreshes a chart:
//
//	h := display.HTML("<b>starting</b>")
//	for i := 1; i <= 10; i++ {
//		h.HTML(fmt.Sprintf("<b>step %d</b>", i))
//	}
//
// A *Handle is not shown when it is the value of a cell's trailing
// expression, so `display.HTML("<b>x</b>")` as the last line of a cell shows
// the HTML once, not the handle.
//
// The interpreter builds one Display per kernel with New and exposes its
// Symbols to yaegi under the import path "perfnb/display"; the package keeps
// no mutable state of its own.
package display

import (
	_ "embed" // bundle.go, for compiled cells
	"reflect"

	"github.com/google/uuid"

	"github.com/perfnb/perfnb/kernel/protocol"
)

// ImportPath is the import path under which cells see this package.
const ImportPath = "perfnb/display"

// BundleSource is the source of bundle.go, which builds the outputs' MIME
// bundles with the standard library only: the native workspace's display
// package compiles it too, so that a compiled cell shows what an
// interpreted one would.
//
//go:embed bundle.go
var BundleSource string

// Display publishes rich outputs for one kernel.
type Display struct {
	pub func() protocol.Publisher
}

// New returns a Display that publishes through the publisher pub returns
// at the moment of each call (the publisher of the running cell); pub may
// return nil, and then outputs are dropped.
func New(pub func() protocol.Publisher) *Display {
	return &Display{pub: pub}
}

// Handle names one displayed output so that it can be updated later.
type Handle struct {
	d  *Display
	id string
}

// ID returns the Jupyter display id of the output.
func (h *Handle) ID() string { return h.id }

// String describes the handle.
func (h *Handle) String() string { return "display " + h.id }

// HTML replaces the output with HTML.
func (h *Handle) HTML(s string) { h.d.update(h.id, htmlBundle(s)) }

// Markdown replaces the output with Markdown.
func (h *Handle) Markdown(s string) { h.d.update(h.id, markdownBundle(s)) }

// SVG replaces the output with an SVG image given as its XML text.
func (h *Handle) SVG(s string) { h.d.update(h.id, svgBundle(s)) }

// PNG replaces the output with a PNG image given as its encoded bytes.
func (h *Handle) PNG(b []byte) { h.d.update(h.id, imageBundle("image/png", "PNG", b)) }

// JPEG replaces the output with a JPEG image given as its encoded bytes.
func (h *Handle) JPEG(b []byte) { h.d.update(h.id, imageBundle("image/jpeg", "JPEG", b)) }

// JSON replaces the output with v encoded as JSON.
func (h *Handle) JSON(v any) { h.d.update(h.id, jsonBundle(v)) }

// Text replaces the output with plain text.
func (h *Handle) Text(s string) { h.d.update(h.id, protocol.Bundle{"text/plain": s}) }

// Bundle replaces the output with a MIME bundle (MIME type to data).
func (h *Handle) Bundle(data map[string]any) { h.d.update(h.id, protocol.Bundle(data)) }

// HTML displays HTML.
func (d *Display) HTML(s string) *Handle { return d.show(htmlBundle(s)) }

// Markdown displays Markdown.
func (d *Display) Markdown(s string) *Handle { return d.show(markdownBundle(s)) }

// SVG displays an SVG image given as its XML text.
func (d *Display) SVG(s string) *Handle { return d.show(svgBundle(s)) }

// PNG displays a PNG image given as its encoded bytes.
func (d *Display) PNG(b []byte) *Handle { return d.show(imageBundle("image/png", "PNG", b)) }

// JPEG displays a JPEG image given as its encoded bytes.
func (d *Display) JPEG(b []byte) *Handle { return d.show(imageBundle("image/jpeg", "JPEG", b)) }

// JSON displays v encoded as JSON (application/json, with the indented
// text as the text/plain fallback).
func (d *Display) JSON(v any) *Handle { return d.show(jsonBundle(v)) }

// Text displays plain text.
func (d *Display) Text(s string) *Handle { return d.show(protocol.Bundle{"text/plain": s}) }

// Bundle displays a MIME bundle (MIME type to data) as given.
func (d *Display) Bundle(data map[string]any) *Handle { return d.show(protocol.Bundle(data)) }

// ClearOutput clears the cell's output now.
func (d *Display) ClearOutput() {
	if p := d.pub(); p != nil {
		p.ClearOutput(false)
	}
}

// ClearOutputWait clears the cell's output when the next output arrives,
// which avoids flicker when redrawing.
func (d *Display) ClearOutputWait() {
	if p := d.pub(); p != nil {
		p.ClearOutput(true)
	}
}

// Symbols returns the package's members as yaegi exports them: the map to
// register under ImportPath + "/display" with the interpreter's Use.
func (d *Display) Symbols() map[string]reflect.Value {
	return map[string]reflect.Value{
		"HTML":            reflect.ValueOf(d.HTML),
		"Markdown":        reflect.ValueOf(d.Markdown),
		"SVG":             reflect.ValueOf(d.SVG),
		"PNG":             reflect.ValueOf(d.PNG),
		"JPEG":            reflect.ValueOf(d.JPEG),
		"JSON":            reflect.ValueOf(d.JSON),
		"Text":            reflect.ValueOf(d.Text),
		"Bundle":          reflect.ValueOf(d.Bundle),
		"ClearOutput":     reflect.ValueOf(d.ClearOutput),
		"ClearOutputWait": reflect.ValueOf(d.ClearOutputWait),
		"Handle":          reflect.ValueOf((*Handle)(nil)),
	}
}

func (d *Display) show(b protocol.Bundle) *Handle {
	h := &Handle{d: d, id: uuid.NewString()}
	if p := d.pub(); p != nil {
		p.Display(b, map[string]any{}, h.id)
	}
	return h
}

func (d *Display) update(id string, b protocol.Bundle) {
	if p := d.pub(); p != nil {
		p.UpdateDisplay(b, map[string]any{}, id)
	}
}
