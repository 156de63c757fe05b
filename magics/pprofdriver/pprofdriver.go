// Package pprofdriver runs pprof's own driver (github.com/google/pprof)
// inside the kernel on profiles already in memory: its text reports (top,
// disasm) and the pages of its web interface (the flame graph), without a
// port, a browser or a subprocess.
package pprofdriver

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/driver"
	"github.com/google/pprof/profile"
)

// mu serialises calls into github.com/google/pprof/driver. The driver
// keeps package-level state (the web UI's interactive mode, the flag and
// configuration globals of internal/driver), so two calls must never
// overlap. The library forces this shared state on us; it lives here and
// nowhere else.
var mu sync.Mutex

// Profiles are what a call hands pprof.
type Profiles struct {
	Profile *profile.Profile
	// Base, when set, is subtracted from Profile (pprof's -diff_base).
	Base *profile.Profile
	// Title replaces the binary's name, with which pprof titles its
	// reports ("In[5]" rather than "cell-8.test"); "" keeps the name,
	// which reports that read the binary (disasm) need.
	Title string
}

// The names under which fetcher hands pprof its profiles.
const (
	profileSource = "perfnb-profile"
	baseSource    = "perfnb-base"
)

// args are the flags common to every call, then extra, then the source.
func (ps Profiles) args(extra ...string) []string {
	args := append([]string{"-symbolize=none"}, extra...)
	if ps.Base != nil {
		args = append(args, "-diff_base="+baseSource)
	}
	return append(args, profileSource)
}

// Page renders a page of pprof's web interface (what `go tool pprof
// -http` serves at path, such as "/flamegraph", with query "si=cpu").
func Page(ps Profiles, path, query string) ([]byte, error) {
	mu.Lock()
	defer mu.Unlock()
	var page []byte
	var status int
	opts := &driver.Options{
		Flagset: newFlagSet(ps.args("-http=localhost:0", "-no_browser")),
		Fetch:   fetcher{ps},
		UI:      quietUI{},
		HTTPServer: func(args *driver.HTTPServerArgs) error {
			h, ok := args.Handlers[path]
			if !ok {
				return fmt.Errorf("pprof has no %s view", path)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path+"?"+query, nil))
			status, page = rec.Code, rec.Body.Bytes()
			return nil
		},
	}
	if err := driver.PProf(opts); err != nil {
		return nil, fmt.Errorf("pprof could not render %s: %w", path, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("pprof could not render %s (HTTP %d): %s", path, status, firstLine(string(page)))
	}
	return page, nil
}

// Report returns one of pprof's text reports, as `go tool pprof` prints
// it with the given flags ("-top", "-cum", "-nodecount=10"; "-disasm=RE").
func Report(ps Profiles, flags ...string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	const outName = "perfnb-report"
	w := &memWriter{}
	opts := &driver.Options{
		Writer:  w,
		Flagset: newFlagSet(ps.args(append(flags, "-output="+outName)...)),
		Fetch:   fetcher{ps},
		UI:      quietUI{},
	}
	if err := driver.PProf(opts); err != nil {
		return "", fmt.Errorf("pprof could not make the report: %w", err)
	}
	return w.buf.String(), nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// memWriter keeps what pprof writes to its output file.
type memWriter struct{ buf bytes.Buffer }

func (w *memWriter) Open(string) (io.WriteCloser, error) { return nopCloser{&w.buf}, nil }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// fetcher hands pprof the already parsed profiles. The empty source name
// keeps pprof from saving a copy of them under $PPROF_TMPDIR.
type fetcher struct{ ps Profiles }

func (f fetcher) Fetch(src string, _, _ time.Duration) (*profile.Profile, string, error) {
	p := f.ps.Profile
	if src == baseSource {
		p = f.ps.Base
	}
	if p == nil {
		return nil, "", errors.New("no profile")
	}
	p = p.Copy()
	if len(p.Mapping) > 0 && f.ps.Title != "" {
		p.Mapping[0].File = f.ps.Title
	}
	return p, "", nil
}

// quietUI is a pprof UI that reads nothing, prints nothing and wants no
// browser.
type quietUI struct{}

func (quietUI) ReadLine(string) (string, error)     { return "", io.EOF }
func (quietUI) Print(...any)                        {}
func (quietUI) PrintErr(...any)                     {}
func (quietUI) IsTerminal() bool                    { return false }
func (quietUI) WantBrowser() bool                   { return false }
func (quietUI) SetAutoComplete(func(string) string) {}

// flagSet is a driver.FlagSet over a standard flag.FlagSet with fixed
// arguments, so that pprof never reads the kernel's own command line.
type flagSet struct {
	*flag.FlagSet
	args  []string
	extra []string
}

func newFlagSet(args []string) *flagSet {
	fs := flag.NewFlagSet("pprof", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs, args: args}
}

func (f *flagSet) StringList(name, def, usage string) *[]*string {
	return &[]*string{f.String(name, def, usage)}
}

func (f *flagSet) ExtraUsage() string { return strings.Join(f.extra, "\n") }

func (f *flagSet) AddExtraUsage(eu string) { f.extra = append(f.extra, eu) }

func (f *flagSet) Parse(usage func()) []string {
	if err := f.FlagSet.Parse(f.args); err != nil {
		usage()
		return nil
	}
	return f.FlagSet.Args()
}
