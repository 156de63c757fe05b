// Package display stands in for perfnb's display package (runtime/display)
// in natively built code: the workspace of runtime/native holds this file
// as the package "perfnbcell/display". It has the API cells call, and every
// function does nothing: showing output is not what a magic measures. A
// test in runtime/native keeps it in step with runtime/display.
package display

// Handle names an output; its methods do nothing.
type Handle struct{}

// ID returns "".
func (h *Handle) ID() string { return "" }

// String returns "display".
func (h *Handle) String() string { return "display" }

// HTML does nothing.
func (h *Handle) HTML(s string) {}

// Markdown does nothing.
func (h *Handle) Markdown(s string) {}

// SVG does nothing.
func (h *Handle) SVG(s string) {}

// PNG does nothing.
func (h *Handle) PNG(b []byte) {}

// JPEG does nothing.
func (h *Handle) JPEG(b []byte) {}

// JSON does nothing.
func (h *Handle) JSON(v any) {}

// Text does nothing.
func (h *Handle) Text(s string) {}

// Bundle does nothing.
func (h *Handle) Bundle(data map[string]any) {}

// HTML returns a handle and shows nothing.
func HTML(s string) *Handle { return &Handle{} }

// Markdown returns a handle and shows nothing.
func Markdown(s string) *Handle { return &Handle{} }

// SVG returns a handle and shows nothing.
func SVG(s string) *Handle { return &Handle{} }

// PNG returns a handle and shows nothing.
func PNG(b []byte) *Handle { return &Handle{} }

// JPEG returns a handle and shows nothing.
func JPEG(b []byte) *Handle { return &Handle{} }

// JSON returns a handle and shows nothing.
func JSON(v any) *Handle { return &Handle{} }

// Text returns a handle and shows nothing.
func Text(s string) *Handle { return &Handle{} }

// Bundle returns a handle and shows nothing.
func Bundle(data map[string]any) *Handle { return &Handle{} }

// ClearOutput does nothing.
func ClearOutput() {}

// ClearOutputWait does nothing.
func ClearOutputWait() {}
