package fs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcfs/ipcfs/sysv"
)

// Found by a QA pass: control characters in the status
// views, sem/create's NSEMS read as octal, and words split at Unicode
// white space.

// awkFields splits a line as awk's default FS does (runs of blanks, tabs
// and, with mawk or busybox, the other ASCII white space).
func awkFields(line string) []string {
	return strings.FieldsFunc(line, func(r rune) bool { return r < 0x80 && strings.ContainsRune(" \t\n\v\f\r", r) })
}

// startArgv starts path with argv (argv[0] as given) and waits until
// its /proc/PID/cmdline shows argv: a child's exec may still be under way
// when Start returns. The process and its children are killed when the
// test ends.
func startArgv(t *testing.T, path string, argv ...string) int32 {
	t.Helper()
	cmd := &exec.Cmd{Path: path, Args: argv, SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	want := strings.Join(argv, "\x00") + "\x00"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
		if string(b) == want {
			return int32(cmd.Process.Pid)
		}
		if time.Now().After(deadline) {
			t.Fatalf("cmdline of %v: %q", argv, b)
		}
	}
}

func TestCommandEscaped(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	// A process whose arguments would forge a row of shm/status, split a
	// cell with a tab, and hide a backslash, a DEL and an escape sequence.
	forged := "evil\n0xdeadbeef 1 root root root root 600 4096 0 - 1 1 - - - - x\tb\\s\x7f\x1b[31m"
	pid := startArgv(t, sh, "sh", "-c", "sleep 30; :", forged, "\r30\n")

	got := commandOf(pid)
	want := `sh -c sleep 30; : evil\x0a0xdeadbeef 1 root root root root 600 4096 0 - 1 1 - - - - x\x09b\x5cs\x7f\x1b[31m \x0d30\x0a`
	if got != want {
		t.Fatalf("commandOf = %q, want %q", got, want)
	}

	// In a table it stays one row, the command its last cell.
	tb := newTable("key", "shmid", "command")
	tb.add("0x00001234", "7", got)
	lines := strings.Split(strings.TrimSuffix(string(tb.bytes()), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), tb.bytes())
	}
	if f := awkFields(lines[1]); len(f) != 2+len(strings.Fields(want)) || f[1] != "7" {
		t.Fatalf("row %q: fields %q", lines[1], f)
	}
}

func TestCommandText(t *testing.T) {
	// The NUL-to-space conversion stays: arguments separated by one space,
	// none around; nothing but spaces is no command (shown "-").
	for in, want := range map[string]string{
		"sleep\x0030\x00":          "sleep 30",
		"sleep\x00\x0030\x00":      "sleep  30",
		" \x0030 \x00":             "30",
		" \x00 \x00":               "",
		"":                         "",
		"\x00":                     "",
		"postgres: writer\x00\x00": "postgres: writer",
		"a\nb\x00\t\x00":           `a\x0ab \x09`,
		"a\\b\x7f\x00":             `a\x5cb\x7f`,
	} {
		if got := commandText([]byte(in)); got != want {
			t.Errorf("commandText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEscapeCell(t *testing.T) {
	for _, c := range []struct {
		in, last, name string
	}{
		{"plain", "plain", "plain"},
		{"a b", "a b", `a\x20b`},
		{"a\nb", `a\x0ab`, `a\x0ab`},
		{"\x00\x01\x1f\x7f", `\x00\x01\x1f\x7f`, `\x00\x01\x1f\x7f`},
		{`C:\x41`, `C:\x5cx41`, `C:\x5cx41`}, // an escape cannot be forged
		{"né\u00a0ü", "né\u00a0ü", "né\u00a0ü"},
		{"\x80\xff~", "\x80\xff~", "\x80\xff~"},
	} {
		if got := escapeCell(c.in, false); got != c.last {
			t.Errorf("escapeCell(%q, false) = %q, want %q", c.in, got, c.last)
		}
		if got := escapeCell(c.in, true); got != c.name {
			t.Errorf("escapeCell(%q, true) = %q, want %q", c.in, got, c.name)
		}
	}
}

// TestNamesEscaped: user and group names come from /etc/passwd and
// /etc/group, which nothing stops from holding a space or a control
// character; each stays one cell.
func TestNamesEscaped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	text := "a b:x:5000:5000::/:/bin/sh\n" +
		"ev\til:x:5001:5001::/:/bin/sh\r\n" +
		"back\\slash\x7f\x1b:x:5002:5002::/:/bin/sh\n" +
		":x:5003:5003::/:/bin/sh\n" +
		"plain:x:5004:5004::/:/bin/sh\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	m := readIDNames(path)
	n := names{users: m, groups: m}
	want := map[uint32]string{
		5000: `a\x20b`,
		5001: `ev\x09il`,
		5002: `back\x5cslash\x7f\x1b`,
		5003: "5003", // no name: the number, never an empty cell
		5004: "plain",
	}
	for id, w := range want {
		if got := n.user(id); got != w {
			t.Errorf("user(%d) = %q, want %q", id, got, w)
		}
		if got := n.group(id); got != w {
			t.Errorf("group(%d) = %q, want %q", id, got, w)
		}
	}
	// Rows built from them keep the header's column count.
	tb := newTable("key", "id", "owner", "group", "cuser", "cgroup", "perms", "command")
	for id := uint32(5000); id <= 5004; id++ {
		tb.add(append(permCells(n, &sysv.Perm{Key: 1, Uid: id, Gid: id, Cuid: id, Cgid: id, Mode: 0600}, int(id)), "cmd")...)
	}
	lines := strings.Split(strings.TrimSuffix(string(tb.bytes()), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 6:\n%s", len(lines), tb.bytes())
	}
	for _, l := range lines {
		if f := awkFields(l); len(f) != 8 {
			t.Errorf("row %q: %d fields, want 8", l, len(f))
		}
	}
}

func TestSemCreateDecimal(t *testing.T) {
	for _, c := range []struct {
		in    string
		n     uint64
		mode  uint32
		errno syscall.Errno
	}{
		{"0x5d000116 010", 10, 0644, 0}, // ipcmk -S 010 makes 10
		{"0x5d000116 08", 8, 0644, 0},
		{"0x5d000116 0009 0600", 9, 0600, 0},
		{"0x5d000116 8 010", 8, 010, 0}, // MODE stays octal
		{"private 2147483647", 1<<31 - 1, 0644, 0},
		{"private 2147483648", 0, 0, syscall.EINVAL},
		{"0x5d000116 0x2", 0, 0, syscall.EINVAL},
		{"0x5d000116 0X2", 0, 0, syscall.EINVAL},
		{"0x5d000116 2K", 0, 0, syscall.EINVAL},
		{"0x5d000116 1.5", 0, 0, syscall.EINVAL},
		{"0x5d000116 +3", 0, 0, syscall.EINVAL},
		{"0x5d000116 -1", 0, 0, syscall.EINVAL},
		{"0x5d000116 1_0", 0, 0, syscall.EINVAL},
		{"0x5d000116 ٣", 0, 0, syscall.EINVAL},
		{"0x5d000116", 0, 0, syscall.EINVAL},
		{"0x5d000116 2 0644 x", 0, 0, syscall.EINVAL},
		{"0x5d000116 2 8", 0, 0, syscall.EINVAL},
	} {
		a, errno := parseCreate(strings.Fields(c.in), parseCount)
		if errno != c.errno || errno == 0 && (a.n != c.n || a.mode != c.mode || a.key != sysv.Key(0x5d000116) && !strings.HasPrefix(c.in, "private")) {
			t.Errorf("parseCreate(%q, parseCount) = %+v, %v; want n %d mode %o, %v", c.in, a, errno, c.n, c.mode, c.errno)
		}
	}
	// shm's SIZE still follows ipcmk -M: 0 octal, 0x hex, suffixes.
	for in, want := range map[string]uint64{"0x1 010": 8, "0x1 0x10": 16, "0x1 1K": 1024, "0x1 10": 10} {
		if a, errno := parseCreate(strings.Fields(in), parseSize); errno != 0 || a.n != want {
			t.Errorf("parseCreate(%q) = %+v, %v; want size %d", in, a, errno, want)
		}
	}
}

func TestFieldsASCII(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{" a\tb\nc\vd\fe\rf  ", []string{"a", "b", "c", "d", "e", "f"}},
		{"a\u00a0b", []string{"a\u00a0b"}},
		{"a\u0085b \u2003 c\u3000", []string{"a\u0085b", "\u2003", "c\u3000"}},
		{"\xff a\xc2", []string{"\xff", "a\xc2"}},
		{"", nil},
		{" \t\n", nil},
	} {
		if got := asciiFields(c.in); !slices.Equal(got, c.want) {
			t.Errorf("asciiFields(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestNoBreakSpace: a no-break space (C2 A0) is no separator in any
// parser of a write, so what holds one fails to parse.
func TestNoBreakSpace(t *testing.T) {
	const nbsp = "\u00a0"

	// create and remove: the control file hands the parsers whole words.
	var got []string
	h := &controlHandle{file: &controlFile{do: func(cred *sysv.Cred, w []string) (string, error) {
		got = w
		return "", nil
	}}}
	for in, want := range map[string][]string{
		"0x1" + nbsp + "4096 0600\n": {"0x1" + nbsp + "4096", "0600"},
		"0x1\t4096\v0600\r\n":        {"0x1", "4096", "0600"},
		"0x10" + nbsp + "0x20\n":     {"0x10" + nbsp + "0x20"},
	} {
		got = nil
		if n, errno := h.Write(context.Background(), []byte(in), 0); errno != 0 || int(n) != len(in) || !slices.Equal(got, want) {
			t.Errorf("write %q: %d %v, words %q; want %q", in, n, errno, got, want)
		}
	}
	if _, errno := h.Write(context.Background(), []byte(nbsp+"\n"), 0); errno != 0 {
		t.Errorf("write of a lone no-break space: %v, want it handed on as a word (that names nothing)", errno)
	}
	if _, errno := h.Write(context.Background(), []byte(" \t\n"), 0); errno != syscall.EINVAL {
		t.Errorf("write of white space only: %v, want EINVAL", errno)
	}

	for _, in := range []string{"0x1" + nbsp + "4096", "0x1 4096" + nbsp, "0x1 4096" + nbsp + "0600", nbsp + "0x1 4096"} {
		if _, errno := parseCreate(asciiFields(in), parseSize); errno != syscall.EINVAL {
			t.Errorf("shm create %q: %v, want EINVAL", in, errno)
		}
	}
	for _, in := range []string{"0x1" + nbsp + "2", "0x1 2" + nbsp, "0x1 2" + nbsp + "0600"} {
		if _, errno := parseCreate(asciiFields(in), parseCount); errno != syscall.EINVAL {
			t.Errorf("sem create %q: %v, want EINVAL", in, errno)
		}
	}
	for _, in := range []string{"0x1" + nbsp + "0600", "0x1" + nbsp} {
		if _, errno := parseCreate(asciiFields(in), nil); errno != syscall.EINVAL {
			t.Errorf("msg create %q: %v, want EINVAL", in, errno)
		}
	}

	// Semaphore writes.
	for _, in := range []string{"-1" + nbsp + "undo", "-1" + nbsp, nbsp + "+1", "-1 nowait" + nbsp, "-1 timeout=1s" + nbsp, "=5" + nbsp} {
		if _, errno := parseSemWrite(in, 0); errno != syscall.EINVAL {
			t.Errorf("parseSemWrite(%q): %v, want EINVAL", in, errno)
		}
	}
	if c, errno := parseSemWrite("-1\vundo\r\n", 0); errno != 0 || !c.undo {
		t.Errorf("parseSemWrite with \\v and \\r: %+v %v", c, errno)
	}
	for _, in := range []string{"0:-1" + nbsp + "1:+1", "0:-1 1:+1" + nbsp + "undo", "0:-1" + nbsp} {
		if _, errno := parseSemopWrite(in); errno != syscall.EINVAL {
			t.Errorf("parseSemopWrite(%q): %v, want EINVAL", in, errno)
		}
	}
	if c, errno := parseSemopWrite("0:-1\f1:+1\tundo\n"); errno != 0 || len(c.ops) != 2 || !c.undo {
		t.Errorf("parseSemopWrite with \\f and \\t: %+v %v", c, errno)
	}
}
