package pipe

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPipeDecoder reads what a cell could write on the answer pipe: the
// decoder and the bodies' decoding must fail cleanly, never panic.
func FuzzPipeDecoder(f *testing.F) {
	var b bytes.Buffer
	enc := NewEncoder(&b)
	enc.Send(OpReady, 0, nil, false)
	enc.Send(OpStream, 3, StreamOutput{Name: "stdout", Text: "hé\n"}, false)
	enc.Send(OpDisplay, 3, DisplayOutput{Data: map[string]any{"text/plain": "x", "application/json": map[string]any{"n": 1}}}, false)
	enc.Send(OpReply, 3, ExecuteReply{State: State{Changed: true}}, false)
	f.Add(b.Bytes())
	f.Add([]byte("reply 1 {\"result\":{\"data\":{\"text/plain\":1e999}}}\n"))
	f.Add([]byte("stream x {}\n"))
	f.Add([]byte("input 1 {\"prompt\":\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		dec := NewDecoder(bytes.NewReader(in))
		for range 16 {
			fr, err := dec.Next()
			if err != nil {
				return
			}
			for _, v := range []any{&StreamOutput{}, &DisplayOutput{}, &ClearOutput{}, &InputRequest{}, &ExecuteReply{}, &RestoreReply{}, &ValuesReply{}, &ErrorReply{}} {
				_ = fr.Decode(v)
			}
		}
	})
}

// FuzzPipeRoundTrip checks that what the encoder sends is read back as
// it was.
func FuzzPipeRoundTrip(f *testing.F) {
	f.Add("stream", uint64(7), "stdout", "text\n")
	f.Add("display", uint64(0), "", "\x00\"\\\u2028")
	f.Fuzz(func(t *testing.T, op string, seq uint64, name, text string) {
		if op == "" || strings.ContainsAny(op, " \n") {
			return // not a kind the protocol has
		}
		var b bytes.Buffer
		if NewEncoder(&b).Send(op, seq, StreamOutput{Name: name, Text: text}, false) != nil {
			t.Fatalf("%q %d: not sent", op, seq)
		}
		fr, err := NewDecoder(&b).Next()
		var got StreamOutput
		if err != nil || fr.Op != op || fr.Seq != seq || fr.Decode(&got) != nil {
			t.Fatalf("%q %d: read back %+v, %v", op, seq, fr, err)
		}
		if utf8.ValidString(name) && utf8.ValidString(text) && (got.Name != name || got.Text != text) {
			t.Errorf("the body %q, %q was read back as %q, %q", name, text, got.Name, got.Text)
		}
	})
}
