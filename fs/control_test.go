package fs

import (
	"context"
	"testing"

	"github.com/ipcfs/ipcfs/sysv"
)

// TestControlAnswerAnyOffset: the first read after a command shows its
// answer from the start, whatever the offset (DESIGN: Control files), and
// later reads go on from there as in a file.
func TestControlAnswerAnyOffset(t *testing.T) {
	read := func(h *controlHandle, n int, off int64) string {
		t.Helper()
		r, errno := h.Read(context.Background(), make([]byte, n), off)
		if errno != 0 {
			t.Fatalf("read at %d: %v", off, errno)
		}
		b, _ := r.Bytes(nil)
		return string(b)
	}
	const cmd = "private 4096\n"
	const answer = "id-32769\n"
	for _, first := range []int64{0, 5, int64(len(cmd)), int64(len(cmd)) + 1, 100, 1 << 40} {
		h := &controlHandle{file: &controlFile{usage: "usage\n", do: func(*sysv.Cred, []string) (string, error) {
			return answer, nil
		}}}
		if got := read(h, 64, first); got != "usage\n"[min(first, 6):] {
			t.Errorf("read at %d before a command: %q, want the usage from there", first, got)
		}
		if _, errno := h.Write(context.Background(), []byte(cmd), int64(len(cmd))); errno != 0 {
			t.Fatalf("write: %v", errno)
		}
		if got := read(h, 3, first); got != answer[:3] {
			t.Errorf("first read at %d: %q, want %q", first, got, answer[:3])
		}
		if got := read(h, 64, first+3); got != answer[3:] {
			t.Errorf("next read at %d: %q, want %q", first+3, got, answer[3:])
		}
		if got := read(h, 64, first+int64(len(answer))); got != "" {
			t.Errorf("read at the answer's end: %q, want end of file", got)
		}
		if got := read(h, 64, first); got != answer {
			t.Errorf("read at %d again: %q, want the whole answer", first, got)
		}
	}
}
