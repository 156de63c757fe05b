// Package browsertest opens the magics' outputs where notebooks are read,
// for tests: headless Chromium driven over the DevTools protocol, Jupyter
// Notebook 6 serving a notebook trusted or untrusted (whose sanitizer
// strips inline styles and scripts), and nbconvert's HTML export with and
// without its sanitizer. Tests measure what the reader sees (the
// computed layout, the pixels of a screenshot) rather than the markup.
package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Chromium is the browser the tests drive (Debian's package).
const Chromium = "/usr/bin/chromium"

// RequireChromium skips the test when there is no Chromium, or under
// -short.
func RequireChromium(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	if _, err := os.Stat(Chromium); err != nil {
		t.Skip("no " + Chromium)
	}
}

// Browser is a headless Chromium, driven over the DevTools protocol
// (--remote-debugging-pipe: JSON messages ending in NUL on file
// descriptors 3 and 4). It stops when the test ends.
type Browser struct {
	t      testing.TB
	out    *os.File // our end of Chromium's fd 3
	in     *bufio.Reader
	stderr *bytes.Buffer
	id     int
}

// Message is a DevTools message: a reply (ID set) or an event (Method
// set).
type Message struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result map[string]any  `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// Start starts Chromium with a window of width × height pixels, the size
// of a screenshot's viewport. It skips the test where RequireChromium
// does.
func Start(t testing.TB, width, height int) *Browser {
	t.Helper()
	RequireChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	toChrome, ourEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChrome, chromeEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, Chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--font-render-hinting=none", "--user-data-dir="+t.TempDir(), fmt.Sprintf("--window-size=%d,%d", width, height),
		"--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, chromeEnd}
	b := &Browser{t: t, out: ourEnd, in: bufio.NewReader(fromChrome), stderr: &bytes.Buffer{}}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	toChrome.Close()
	chromeEnd.Close()
	t.Cleanup(func() {
		ourEnd.Close()
		cancel()
		cmd.Wait()
		fromChrome.Close()
	})
	return b
}

// read returns the next message for which done is true, skipping the
// others (events, earlier replies).
func (b *Browser) read(what string, done func(m Message) bool) Message {
	b.t.Helper()
	for {
		line, err := b.in.ReadBytes(0)
		if err != nil {
			b.t.Fatalf("DevTools, waiting for %s: %v\n%s", what, err, b.stderr.String())
		}
		var m Message
		if err := json.Unmarshal(line[:len(line)-1], &m); err != nil {
			b.t.Fatalf("DevTools message %q: %v", line, err)
		}
		if done(m) {
			return m
		}
	}
}

// Call sends method to the session (the browser for "") and returns its
// result.
func (b *Browser) Call(session, method string, params any) map[string]any {
	b.t.Helper()
	b.id++
	id := b.id
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.out.Write(append(data, 0)); err != nil {
		b.t.Fatalf("DevTools %s: %v\n%s", method, err, b.stderr.String())
	}
	reply := b.read(method, func(m Message) bool { return m.ID == id })
	if len(reply.Error) > 0 {
		b.t.Fatalf("DevTools %s: %s", method, reply.Error)
	}
	return reply.Result
}

// Page is a tab of the browser.
type Page struct {
	b       *Browser
	target  string
	session string
}

// Open opens url in a new tab in front (a background tab gets no
// animation frames) and waits for its load event.
func (b *Browser) Open(url string) *Page {
	b.t.Helper()
	target := b.Call("", "Target.createTarget", map[string]any{"url": "about:blank"})
	session := b.Call("", "Target.attachToTarget", map[string]any{"targetId": target["targetId"], "flatten": true})
	p := &Page{b: b, target: fmt.Sprint(target["targetId"]), session: fmt.Sprint(session["sessionId"])}
	p.Call("Page.enable", map[string]any{})
	p.Call("Page.bringToFront", map[string]any{})
	p.Call("Page.navigate", map[string]any{"url": url})
	b.read("the page's load", func(m Message) bool { return m.Method == "Page.loadEventFired" })
	return p
}

// Call sends a DevTools method to the page.
func (p *Page) Call(method string, params any) map[string]any {
	p.b.t.Helper()
	return p.b.Call(p.session, method, params)
}

// Eval evaluates expr in the page, awaiting it if it is a promise, and
// returns its value as a string.
func (p *Page) Eval(expr string) string {
	p.b.t.Helper()
	res := p.Call("Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true})
	v, _ := res["result"].(map[string]any)
	if v == nil || res["exceptionDetails"] != nil {
		p.b.t.Fatalf("evaluating %.200q: %v", expr, res)
	}
	return fmt.Sprint(v["value"])
}

// EvalJSON evaluates expr, whose value is a JSON text, into v.
func (p *Page) EvalJSON(expr string, v any) {
	p.b.t.Helper()
	s := p.Eval(expr)
	if err := json.Unmarshal([]byte(s), v); err != nil {
		p.b.t.Fatalf("evaluating %.200q: %v in %.500q", expr, err, s)
	}
}

// WaitFor polls the JavaScript condition cond every 100 ms until it is
// true, and fails the test after timeout.
func (p *Page) WaitFor(cond string, timeout time.Duration) {
	p.b.t.Helper()
	ms := timeout.Milliseconds()
	got := p.Eval(`new Promise(function(resolve){var t0=Date.now();(function poll(){var ok=false;try{ok=!!(` + cond +
		`)}catch(e){}if(ok||Date.now()-t0>` + fmt.Sprint(ms) + `){resolve(ok)}else{setTimeout(poll,100)}})()})`)
	if got != "true" {
		p.b.t.Fatalf("waited %v for %s", timeout, cond)
	}
}

// Screenshot captures the page in PNG, the whole page when full is set
// (else the viewport).
func (p *Page) Screenshot(full bool) []byte {
	p.b.t.Helper()
	res := p.Call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": full})
	data, err := base64.StdEncoding.DecodeString(fmt.Sprint(res["data"]))
	if err != nil {
		p.b.t.Fatal(err)
	}
	return data
}

// Rect is an element's box in CSS pixels of the page.
type Rect struct{ X, Y, Width, Height float64 }

// ScrollTo scrolls the element that the JavaScript expression elem
// evaluates to into view and returns its box in the page (the viewport's
// box moved by the document's scrolling).
func (p *Page) ScrollTo(elem string) Rect {
	p.b.t.Helper()
	var r Rect
	p.EvalJSON(`(function(){var e=`+elem+`;e.scrollIntoView({block:'start'});var r=e.getBoundingClientRect();`+
		`return JSON.stringify({X:r.left+scrollX,Y:r.top+scrollY,Width:r.width,Height:r.height})})()`, &r)
	return r
}

// ScreenshotElement captures, in PNG, the element that the JavaScript
// expression elem evaluates to, scrolled into view.
func (p *Page) ScreenshotElement(elem string) []byte {
	p.b.t.Helper()
	r := p.ScrollTo(elem)
	res := p.Call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": r.X, "y": max(r.Y, 0), "width": r.Width, "height": r.Height, "scale": 1}})
	data, err := base64.StdEncoding.DecodeString(fmt.Sprint(res["data"]))
	if err != nil {
		p.b.t.Fatal(err)
	}
	return data
}

// Close closes the tab.
func (p *Page) Close() {
	p.b.t.Helper()
	p.b.Call("", "Target.closeTarget", map[string]any{"targetId": p.target})
}
