package kernel

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// recordedPublisher is a cellPublisher whose messages are recorded.
func recordedPublisher(maxStream int, maxTotal int64) (*cellPublisher, *[]map[string]any) {
	var got []map[string]any
	p := &cellPublisher{
		send:      func(_ string, content map[string]any) { got = append(got, content) },
		maxStream: maxStream,
		maxTotal:  maxTotal,
	}
	return p, &got
}

func TestLongTextIsPublishedInPieces(t *testing.T) {
	p, got := recordedPublisher(1000, 1<<20)
	line := strings.Repeat("é", 2500) + "\n" // 5,001 bytes, no newline inside
	p.Stream("stdout", line)
	p.finish()
	var all strings.Builder
	for _, m := range *got {
		text := m["text"].(string)
		if len(text) > 1000 {
			t.Errorf("a stream message of %d bytes, the most is 1000", len(text))
		}
		if !utf8.ValidString(text) {
			t.Errorf("a piece cuts a character: %q…", text[:10])
		}
		all.WriteString(text)
	}
	if all.String() != line {
		t.Errorf("the pieces add up to %d bytes, not the line's %d", all.Len(), len(line))
	}
}

func TestOutputBeyondTheCapIsCountedNotSent(t *testing.T) {
	p, got := recordedPublisher(1000, 10_000)
	for range 30 {
		p.Stream("stdout", strings.Repeat("x", 999)+"\n")
	}
	p.finish()
	p.Stream("stdout", "late\n") // a goroutine after the cell
	var sent int
	var notices []string
	for _, m := range *got {
		if m["name"] == "stderr" {
			notices = append(notices, m["text"].(string))
			continue
		}
		sent += len(m["text"].(string))
	}
	if sent != 10_000 {
		t.Errorf("%d bytes sent, want the cap, 10,000", sent)
	}
	if len(notices) != 2 || !strings.Contains(notices[0], "the rest is not sent") || !strings.Contains(notices[1], "20000 bytes") {
		t.Errorf("notices: %q", notices)
	}
}
