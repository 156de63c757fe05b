package kernel

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// frames builds a wire message signed with signKey (no signature when
// signKey is empty).
func testFrames(t *testing.T, signKey string, ids []string, hdr, parent, md, content string) [][]byte {
	t.Helper()
	c := newCodec([]byte(signKey), "test")
	var out [][]byte
	for _, id := range ids {
		out = append(out, []byte(id))
	}
	return append(out, []byte(delimiter), c.sign([]byte(hdr), []byte(parent), []byte(md), []byte(content)),
		[]byte(hdr), []byte(parent), []byte(md), []byte(content))
}

const testHeader = `{"msg_id":"m1","session":"s","username":"u","date":"2026-01-02T03:04:05.000006Z","msg_type":"kernel_info_request","version":"5.3"}`

func TestDecodeSignature(t *testing.T) {
	good := testFrames(t, "secret", []string{"id1"}, testHeader, "{}", "{}", "{}")
	tests := []struct {
		name    string
		key     string
		frames  [][]byte
		wantErr error
	}{
		{"good signature", "secret", good, nil},
		{"wrong key", "other", good, errBadSignature},
		{"missing signature", "secret", testFrames(t, "", []string{"id1"}, testHeader, "{}", "{}", "{}"), errBadSignature},
		{"tampered content", "secret", func() [][]byte {
			f := testFrames(t, "secret", nil, testHeader, "{}", "{}", `{"code":"1"}`)
			f[len(f)-1] = []byte(`{"code":"2"}`)
			return f
		}(), errBadSignature},
		{"empty key accepts unsigned", "", testFrames(t, "", nil, testHeader, "{}", "{}", "{}"), nil},
		{"empty key ignores a signature", "", good, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := newCodec([]byte(tc.key), "k").decode(tc.frames)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("decode error = %v, want %v", err, tc.wantErr)
			}
			if err == nil && m.header.MsgType != "kernel_info_request" {
				t.Errorf("msg_type = %q", m.header.MsgType)
			}
		})
	}
}

func TestDecodeRefusesReplay(t *testing.T) {
	c := newCodec([]byte("secret"), "k")
	f := testFrames(t, "secret", nil, testHeader, "{}", "{}", "{}")
	if _, err := c.decode(f); err != nil {
		t.Fatalf("first decode: %v", err)
	}
	if _, err := c.decode(f); !errors.Is(err, errReplayed) {
		t.Fatalf("second decode error = %v, want %v", err, errReplayed)
	}
}

func TestDecodeFraming(t *testing.T) {
	tests := []struct {
		name    string
		frames  [][]byte
		wantErr string // substring; "" means success
		wantIDs int
	}{
		{"two identities", testFrames(t, "k", []string{"a", "b"}, testHeader, "{}", "{}", "{}"), "", 2},
		{"no identity", testFrames(t, "k", nil, testHeader, "{}", "{}", "{}"), "", 0},
		{"buffers kept", append(testFrames(t, "k", []string{"a"}, testHeader, "{}", "{}", "{}"), []byte("buf")), "", 1},
		{"no delimiter", testFrames(t, "k", []string{"a"}, testHeader, "{}", "{}", "{}")[2:], "delimiter", 0},
		{"short", testFrames(t, "k", []string{"a"}, testHeader, "{}", "{}", "{}")[:5], "fewer", 0},
		{"nothing", nil, "delimiter", 0},
		{"bad header JSON", testFrames(t, "k", nil, `{"msg_type":`, "{}", "{}", "{}"), "header", 0},
		{"no msg_type", testFrames(t, "k", nil, `{"msg_id":"x"}`, "{}", "{}", "{}"), "msg_type", 0},
		{"bad parent JSON", testFrames(t, "k", nil, testHeader, "{", "{}", "{}"), "parent_header", 0},
		{"bad metadata JSON", testFrames(t, "k", nil, testHeader, "{}", "nope", "{}"), "metadata", 0},
		{"bad content JSON", testFrames(t, "k", nil, testHeader, "{}", "{}", `{"code": }`), "content", 0},
		{"content not an object", testFrames(t, "k", nil, testHeader, "{}", "{}", `[1]`), "content", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := newCodec([]byte("k"), "k").decode(tc.frames)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("decode error = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(m.identities) != tc.wantIDs {
				t.Errorf("%d identities, want %d", len(m.identities), tc.wantIDs)
			}
			if string(m.rawHeader) != testHeader {
				t.Errorf("raw header = %s", m.rawHeader)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	c := newCodec([]byte("key"), "alice")
	parent, err := c.decode(testFrames(t, "key", []string{"peer"}, testHeader, "{}", "{}", "{}"))
	if err != nil {
		t.Fatal(err)
	}
	frames, err := c.encode(parent.identities, "kernel_info_reply", parent, nil, map[string]any{"status": "ok"})
	if err != nil {
		t.Fatal(err)
	}
	if string(frames[0]) != "peer" || string(frames[1]) != delimiter {
		t.Fatalf("frames start %q %q, want identity then delimiter", frames[0], frames[1])
	}
	if string(frames[4]) != testHeader {
		t.Errorf("parent header = %s, want the request's header verbatim", frames[4])
	}
	// A second codec with the same key (the client) accepts it.
	m, err := newCodec([]byte("key"), "client").decode(frames)
	if err != nil {
		t.Fatalf("client cannot decode the kernel's message: %v", err)
	}
	var h header
	if err := json.Unmarshal(m.rawHeader, &h); err != nil {
		t.Fatal(err)
	}
	if h.Version != "5.3" || h.MsgType != "kernel_info_reply" || h.Username != "alice" || h.Session != c.session || h.MsgID == "" {
		t.Errorf("header = %+v", h)
	}
	if !strings.HasSuffix(h.Date, "Z") && !strings.Contains(h.Date[19:], "+") && !strings.Contains(h.Date[19:], "-") {
		t.Errorf("date %q has no time zone", h.Date)
	}
	if len(frames[2]) != 64 {
		t.Errorf("signature %q is not hex SHA-256", frames[2])
	}
}

func TestCompleteUTF8(t *testing.T) {
	e := []byte("é") // 2 bytes
	euro := []byte("€")
	tests := []struct {
		in   []byte
		want int
	}{
		{[]byte("abc"), 3},
		{nil, 0},
		{append([]byte("ab"), e[0]), 2},
		{append([]byte("ab"), e...), 4},
		{append([]byte("a"), euro[:2]...), 1},
		{append([]byte("a"), euro...), 4},
	}
	for _, tc := range tests {
		if got := completeUTF8(tc.in); got != tc.want {
			t.Errorf("completeUTF8(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestMarshalKeepsHTML(t *testing.T) {
	got, err := marshal(map[string]any{"text/html": "<b>a & b</b>"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"text/html":"<b>a & b</b>"}`; string(got) != want {
		t.Errorf("marshal = %s, want %s", got, want)
	}
}

func TestHeaderJSON(t *testing.T) {
	c := newCodec([]byte("k"), `user "quoted" <&>`)
	for _, msgType := range []string{"execute_reply", "status", `odd"type`, "Ünicode"} {
		raw, err := c.headerJSON(msgType)
		if err != nil {
			t.Fatal(err)
		}
		var h header
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatalf("%s: invalid header JSON %s: %v", msgType, raw, err)
		}
		want := header{MsgID: h.MsgID, Session: c.session, Username: c.username, Date: h.Date, MsgType: msgType, Version: protocolVersion}
		if h != want {
			t.Errorf("header = %+v, want %+v", h, want)
		}
		if _, err := uuid.Parse(h.MsgID); err != nil {
			t.Errorf("msg_id %q: %v", h.MsgID, err)
		}
		// RFC 3339 (ISO 8601) requires the time zone.
		if _, err := time.Parse(time.RFC3339Nano, h.Date); err != nil {
			t.Errorf("date %q is not ISO 8601 with a time zone: %v", h.Date, err)
		}
	}
	a, _ := c.headerJSON("status")
	b, _ := c.headerJSON("status")
	if bytes.Equal(a, b) {
		t.Error("two headers are identical: msg_id must differ")
	}
}

// TestReplayRefusedLongAfter: a signed request replayed after 100,000
// newer messages (ipykernel still refuses one after 70,000) is refused;
// the memory of signatures is bounded, so one replayed after
// replayMemory newer messages is not.
func TestReplayRefusedLongAfter(t *testing.T) {
	if testing.Short() {
		t.Skip("signs and checks 260,000 messages")
	}
	key := []byte("secret")
	c := newCodec(key, "k")
	signer := newCodec(key, "client")
	msg := func(i int) [][]byte {
		h := strings.Replace(testHeader, `"m1"`, `"`+strconv.Itoa(i)+`"`, 1)
		return [][]byte{[]byte(delimiter), signer.sign([]byte(h), []byte("{}"), []byte("{}"), []byte("{}")),
			[]byte(h), []byte("{}"), []byte("{}"), []byte("{}")}
	}
	first := msg(-1)
	if _, err := c.decode(first); err != nil {
		t.Fatal(err)
	}
	for i := range replayMemory {
		if _, err := c.decode(msg(i)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if i == 100_000 {
			if _, err := c.decode(first); !errors.Is(err, errReplayed) {
				t.Fatalf("a replay after 100,000 newer messages: %v, want %v", err, errReplayed)
			}
		}
	}
	if len(c.order) != replayMemory || len(c.seen) != replayMemory {
		t.Errorf("%d signatures in the ring, %d in the set; want %d", len(c.order), len(c.seen), replayMemory)
	}
	if _, err := c.decode(first); err != nil {
		t.Errorf("a replay after %d newer messages: %v; the memory is bounded", replayMemory, err)
	}
}
