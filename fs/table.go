package fs

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// table renders rows as aligned, space-separated columns under a header,
// so that both people and awk can read a status view. Empty cells show
// as "-", so every row has every column; the last column may hold spaces.
type table struct {
	rows [][]string
}

func newTable(header ...string) *table { return &table{rows: [][]string{header}} }

func (t *table) add(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	t.rows = append(t.rows, cells)
}

func (t *table) bytes() []byte {
	width := make([]int, len(t.rows[0]))
	for _, r := range t.rows {
		for i, c := range r[:len(r)-1] {
			width[i] = max(width[i], len(c))
		}
	}
	var b bytes.Buffer
	for _, r := range t.rows {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-len(c)+1))
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// timeCell shows a kernel time in the daemon's local time with its
// offset from UTC (RFC 3339), as the reader's zone may be another; 0
// means never and is "-".
func timeCell(sec int64) string {
	if sec == 0 {
		return ""
	}
	return time.Unix(sec, 0).Format("2006-01-02T15:04:05-07:00")
}

// names maps ids to the names /etc/passwd and /etc/group give them.
type names struct{ users, groups map[uint32]string }

func loadNames() names {
	return names{users: readIDNames("/etc/passwd"), groups: readIDNames("/etc/group")}
}

// readIDNames reads name:x:id:... lines.
func readIDNames(path string) map[uint32]string {
	m := map[uint32]string{}
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 4)
		if len(f) < 3 {
			continue
		}
		if id, err := strconv.ParseUint(f[2], 10, 32); err == nil && f[0] != "" {
			if _, dup := m[uint32(id)]; !dup {
				// A name is one cell: a space in it would shift the
				// columns after it, so it is escaped too.
				m[uint32(id)] = escapeCell(f[0], true)
			}
		}
	}
	return m
}

func (n names) user(uid uint32) string {
	if s, ok := n.users[uid]; ok {
		return s
	}
	return u32(uid)
}

func (n names) group(gid uint32) string {
	if s, ok := n.groups[gid]; ok {
		return s
	}
	return u32(gid)
}

// commandOf is a live process's command line, as lsipc's COMMAND shows
// the creator's; "" once the process is gone.
func commandOf(pid int32) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/cmdline")
	if err != nil {
		return ""
	}
	return commandText(b)
}

// commandText turns /proc/PID/cmdline into a cell: the arguments
// separated by spaces, escaped by escapeCell so that no argument can end
// the row or forge another, without spaces around ("" for none).
func commandText(cmdline []byte) string {
	s := strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")
	return strings.Trim(escapeCell(s, false), " ")
}

// escapeCell makes text from outside the kernel's numbers (a command
// line, a user or group name) safe in a table cell, as util-linux's
// libsmartcols does for lsipc: every control byte (below 0x20, and 0x7f)
// and the backslash itself become \xHH, lower-case hex, so a newline
// cannot start a row of its own and a tab cannot split a cell; with
// space, a space becomes \x20 too, for a cell that is not the last.
// Other bytes, UTF-8 included, are kept as they are.
func escapeCell(s string, space bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '\\' || space && c == ' ' {
			b.WriteString(`\x`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
