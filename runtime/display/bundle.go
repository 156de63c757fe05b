package display

// The outputs' MIME bundles. This file uses the standard library only: it
// is also copied into the native workspace (BundleSource), where compiled
// cells build the same bundles as interpreted ones.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"
)

func jsonBundle(v any) map[string]any {
	raw, err := json.Marshal(v)
	if err != nil {
		msg := fmt.Sprintf("display.JSON: cannot encode the value as JSON: %v", err)
		return map[string]any{"text/plain": msg}
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return map[string]any{"text/plain": string(raw)}
	}
	text, _ := json.MarshalIndent(generic, "", "  ")
	return map[string]any{"application/json": generic, "text/plain": string(text)}
}

var tagRE = regexp.MustCompile(`(?s)<[^>]*>`)

// htmlText is the text/plain fallback of HTML: the text without its tags.
func htmlText(s string) string {
	t := strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(s, "")))
	if t == "" {
		return "[HTML]"
	}
	return t
}

func htmlBundle(s string) map[string]any {
	return map[string]any{"text/html": s, "text/plain": htmlText(s)}
}

func markdownBundle(s string) map[string]any {
	return map[string]any{"text/markdown": s, "text/plain": s}
}

func svgBundle(s string) map[string]any {
	return map[string]any{"image/svg+xml": s, "text/plain": "[SVG image]"}
}

func imageBundle(mime, name string, b []byte) map[string]any {
	return map[string]any{
		mime:         base64.StdEncoding.EncodeToString(b),
		"text/plain": fmt.Sprintf("[%s image, %d bytes]", name, len(b)),
	}
}
