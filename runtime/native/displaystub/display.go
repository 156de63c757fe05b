//go:build ignore

// Package display is perfnb's display package (runtime/display) in
// natively built code: the workspace of runtime/native holds this file,
// with runtime/display's bundle.go, as the package "perfnbcell/display".
// It has the API cells call. In a compiled cell its outputs go to the
// notebook through the harness (harness.Display); in a magic's child the
// harness drops them, since showing output is not what a magic measures.
// A test in runtime/native keeps it in step with runtime/display. The
// build constraint keeps it out of perfnb's own build (it imports the
// workspace's harness); the workspace's copy is written without it.
package display

import "perfnbcell/harness"

// Handle names an output so that it can be updated later.
type Handle struct{ id string }

// ID returns the Jupyter display id of the output.
func (h *Handle) ID() string { return h.id }

// String describes the handle.
func (h *Handle) String() string { return "display " + h.id }

// HTML replaces the output with HTML.
func (h *Handle) HTML(s string) { h.update(htmlBundle(s)) }

// Markdown replaces the output with Markdown.
func (h *Handle) Markdown(s string) { h.update(markdownBundle(s)) }

// SVG replaces the output with an SVG image given as its XML text.
func (h *Handle) SVG(s string) { h.update(svgBundle(s)) }

// PNG replaces the output with a PNG image given as its encoded bytes.
func (h *Handle) PNG(b []byte) { h.update(imageBundle("image/png", "PNG", b)) }

// JPEG replaces the output with a JPEG image given as its encoded bytes.
func (h *Handle) JPEG(b []byte) { h.update(imageBundle("image/jpeg", "JPEG", b)) }

// JSON replaces the output with v encoded as JSON.
func (h *Handle) JSON(v any) { h.update(jsonBundle(v)) }

// Text replaces the output with plain text.
func (h *Handle) Text(s string) { h.update(map[string]any{"text/plain": s}) }

// Bundle replaces the output with a MIME bundle (MIME type to data).
func (h *Handle) Bundle(data map[string]any) { h.update(data) }

func (h *Handle) update(data map[string]any) { harness.Display("update", data, h.id, false) }

// HTML displays HTML.
func HTML(s string) *Handle { return show(htmlBundle(s)) }

// Markdown displays Markdown.
func Markdown(s string) *Handle { return show(markdownBundle(s)) }

// SVG displays an SVG image given as its XML text.
func SVG(s string) *Handle { return show(svgBundle(s)) }

// PNG displays a PNG image given as its encoded bytes.
func PNG(b []byte) *Handle { return show(imageBundle("image/png", "PNG", b)) }

// JPEG displays a JPEG image given as its encoded bytes.
func JPEG(b []byte) *Handle { return show(imageBundle("image/jpeg", "JPEG", b)) }

// JSON displays v encoded as JSON.
func JSON(v any) *Handle { return show(jsonBundle(v)) }

// Text displays plain text.
func Text(s string) *Handle { return show(map[string]any{"text/plain": s}) }

// Bundle displays a MIME bundle (MIME type to data) as given.
func Bundle(data map[string]any) *Handle { return show(data) }

// ClearOutput clears the cell's output now.
func ClearOutput() { harness.Display("clear", nil, "", false) }

// ClearOutputWait clears the cell's output when the next output arrives.
func ClearOutputWait() { harness.Display("clear", nil, "", true) }

func show(data map[string]any) *Handle {
	h := &Handle{id: harness.DisplayID()}
	harness.Display("display", data, h.id, false)
	return h
}
