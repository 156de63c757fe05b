package kernel

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/perfnb/perfnb/kernel/zmtp"
)

const (
	// protocolVersion is the version of the messaging protocol we speak.
	protocolVersion = "5.3"
	// delimiter separates the ZeroMQ routing identities from the message.
	delimiter = "<IDS|MSG>"
	// dateLayout is ISO 8601 with microseconds and a time zone, as
	// jupyter_client writes it.
	dateLayout = "2006-01-02T15:04:05.000000Z07:00"
	// replayMemory is how many recent signatures are remembered to refuse
	// a replayed message: four times jupyter_client's digest history
	// (2^16, culled by a tenth at random when full), in 8 bytes each
	// (the signature's first 64 bits), about 6 MiB once full.
	replayMemory = 1 << 18
)

// header is a message header.
type header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// message is a decoded incoming message. The parent header, metadata and
// content stay raw JSON (already checked to be valid); handlers decode the
// content they need.
type message struct {
	from       *zmtp.Peer // the connection it came from, where replies go
	identities [][]byte
	header     header
	rawHeader  json.RawMessage // sent back verbatim as parent_header
	parent     json.RawMessage
	metadata   json.RawMessage
	content    json.RawMessage
	buffers    [][]byte
	received   time.Time
}

// Errors of decode, each meaning the message is dropped.
var (
	errNoDelimiter  = errors.New("no <IDS|MSG> delimiter")
	errShortMessage = errors.New("fewer than the 5 frames that follow the delimiter")
	errBadSignature = errors.New("bad or missing signature")
	errReplayed     = errors.New("duplicate signature (replayed message)")
)

// codec signs, checks, encodes and decodes messages for one kernel
// session. It is safe for concurrent use.
type codec struct {
	key      []byte // nil or empty: messages are neither signed nor checked
	session  string
	username string
	// headerTail is the constant end of every header we write:
	// session, username and version, marshalled once.
	headerTail []byte

	mu    sync.Mutex
	seen  map[uint64]struct{}
	order []uint64 // ring of remembered signatures, oldest at next
	next  int
}

func newCodec(key []byte, username string) *codec {
	c := &codec{
		key:      key,
		session:  uuid.NewString(),
		username: username,
		seen:     make(map[uint64]struct{}),
	}
	tail, err := json.Marshal(struct {
		Session  string `json:"session"`
		Username string `json:"username"`
		Version  string `json:"version"`
	}{c.session, c.username, protocolVersion})
	if err != nil {
		panic(err) // three strings always marshal
	}
	c.headerTail = append([]byte{','}, tail[1:]...)
	return c
}

// sign returns the hex HMAC-SHA256 of the four signed frames, or nil
// without a key.
func (c *codec) sign(frames ...[]byte) []byte {
	if len(c.key) == 0 {
		return nil
	}
	mac := hmac.New(sha256.New, c.key)
	for _, f := range frames {
		mac.Write(f)
	}
	sum := mac.Sum(nil)
	out := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(out, sum)
	return out
}

// verify checks sig against the signed frames in constant time and refuses
// a signature seen before.
func (c *codec) verify(sig []byte, frames ...[]byte) error {
	if len(c.key) == 0 {
		return nil
	}
	if !hmac.Equal(sig, c.sign(frames...)) {
		return errBadSignature
	}
	// The first 64 bits of a valid signature: a forger cannot choose
	// them, and two messages share them by chance once in 2^64.
	var head [8]byte
	if _, err := hex.Decode(head[:], sig[:16]); err != nil {
		return errBadSignature
	}
	s := binary.BigEndian.Uint64(head[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.seen[s]; dup {
		return errReplayed
	}
	if len(c.order) < replayMemory {
		c.order = append(c.order, s)
	} else {
		delete(c.seen, c.order[c.next])
		c.order[c.next] = s
		c.next = (c.next + 1) % replayMemory
	}
	c.seen[s] = struct{}{}
	return nil
}

// decode splits frames into identities and message parts, checks the
// signature and the JSON of every part.
func (c *codec) decode(frames [][]byte) (*message, error) {
	d := -1
	for i, f := range frames {
		if string(f) == delimiter {
			d = i
			break
		}
	}
	if d < 0 {
		return nil, errNoDelimiter
	}
	rest := frames[d+1:]
	if len(rest) < 5 {
		return nil, errShortMessage
	}
	if err := c.verify(rest[0], rest[1], rest[2], rest[3], rest[4]); err != nil {
		return nil, err
	}
	m := &message{
		identities: frames[:d],
		rawHeader:  rest[1],
		parent:     rest[2],
		metadata:   rest[3],
		content:    rest[4],
		buffers:    rest[5:],
		received:   time.Now(),
	}
	if err := json.Unmarshal(rest[1], &m.header); err != nil {
		return nil, fmt.Errorf("invalid JSON in the header: %w", err)
	}
	if m.header.MsgType == "" {
		return nil, errors.New("the header has no msg_type")
	}
	for _, part := range []struct {
		name string
		data []byte
	}{{"parent_header", rest[2]}, {"metadata", rest[3]}, {"content", rest[4]}} {
		if !json.Valid(part.data) {
			return nil, fmt.Errorf("invalid JSON in the %s", part.name)
		}
	}
	if !isObject(rest[4]) {
		return nil, errors.New("the content is not a JSON object")
	}
	return m, nil
}

// isObject reports whether data is a JSON object.
func isObject(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// headerJSON returns a fresh header of type msgType for this session as
// JSON, built without reflection: only the id, the type and the date
// change from one message to the next.
func (c *codec) headerJSON(msgType string) ([]byte, error) {
	var typ []byte // msgType marshalled, when it needs escaping
	if !isPlainName(msgType) {
		var err error
		if typ, err = json.Marshal(msgType); err != nil {
			return nil, err
		}
	}
	id := uuid.New()
	b := make([]byte, 0, 96+len(msgType)+len(c.headerTail))
	b = append(b, `{"msg_id":"`...)
	b = append(b, id.String()...)
	b = append(b, `","date":"`...)
	b = time.Now().AppendFormat(b, dateLayout)
	b = append(b, `","msg_type":`...)
	if typ != nil {
		b = append(b, typ...)
	} else {
		b = append(b, '"')
		b = append(b, msgType...)
		b = append(b, '"')
	}
	return append(b, c.headerTail...), nil
}

// isPlainName reports whether s needs no escaping in a JSON string (the
// protocol's message types: lower-case letters and underscores).
func isPlainName(s string) bool {
	for i := 0; i < len(s); i++ {
		if ch := s[i]; !(ch >= 'a' && ch <= 'z' || ch == '_') {
			return false
		}
	}
	return true
}

const emptyObject = "{}"

// encode builds the frames of a message: identities (or the topic on
// iopub), delimiter, signature, header, parent header, metadata, content.
// parent may be nil; metadata nil means {}.
func (c *codec) encode(identities [][]byte, msgType string, parent *message, metadata map[string]any, content any) ([][]byte, error) {
	h, err := c.headerJSON(msgType)
	if err != nil {
		return nil, fmt.Errorf("cannot encode a %s header: %w", msgType, err)
	}
	ph := []byte(emptyObject)
	if parent != nil {
		ph = parent.rawHeader
	}
	md := []byte(emptyObject)
	if len(metadata) > 0 {
		if md, err = marshal(metadata); err != nil {
			return nil, fmt.Errorf("cannot encode %s metadata: %w", msgType, err)
		}
	}
	ct, err := marshal(content)
	if err != nil {
		return nil, fmt.Errorf("cannot encode %s content: %w", msgType, err)
	}
	frames := make([][]byte, 0, len(identities)+6)
	frames = append(frames, identities...)
	frames = append(frames, []byte(delimiter), c.sign(h, ph, md, ct), h, ph, md, ct)
	return frames, nil
}

// marshal encodes v as JSON without escaping <, > and & (HTML outputs stay
// their size).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
