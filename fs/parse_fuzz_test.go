package fs

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ipcfs/ipcfs/sysv"
)

// Every parser of user input is fuzzed: whatever the input, it must not
// panic, must fail only with the errno the contract names, and what it
// accepts must be in range and mean what was written.

func allowed(t *testing.T, input string, errno syscall.Errno, ok ...syscall.Errno) {
	t.Helper()
	for _, e := range ok {
		if errno == e {
			return
		}
	}
	t.Fatalf("%q: errno %v, want one of %v", input, errno, ok)
}

func FuzzParseObjectName(f *testing.F) {
	for _, s := range []string{"0x0000162e", "0x162e", "0X162E", "id-32769", "id-0", "id-01", "id-", "0x", "0x-1", "0x100000000", "create", "", "0x0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ref, errno := parseObjectName(name)
		allowed(t, name, errno, 0, syscall.ENOENT)
		if errno != 0 {
			return
		}
		if ref.byID {
			if ref.id < 0 || objectName(sysv.Private, ref.id) != name {
				t.Fatalf("%q: id %d does not spell back", name, ref.id)
			}
			return
		}
		if ref.key == sysv.Private || !strings.EqualFold(strings.TrimLeft(name[2:], "0"), strings.TrimLeft(ref.key.String()[2:], "0")) {
			t.Fatalf("%q: key %v", name, ref.key)
		}
	})
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"0x1234", "4660", "-1", "private", "IPC_PRIVATE", "0xffffffff", "4294967295", "4294967296", "0x", "+5", "0x+5", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := sysv.ParseKey(s)
		if err != nil {
			if err != syscall.EINVAL {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if again, err := sysv.ParseKey(k.String()); err != nil || again != k {
			t.Fatalf("%q -> %v does not spell back: %v %v", s, k, again, err)
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"4096", "1K", "2M", "3G", "1KiB", "0", "", "K", "1T", "-1", "+1", "18446744073709551615", "9999999999G", "1.5M", "0x1000", "010", "1KB", "0.5MB", "1.10K", "+1", "1Kib", "16E", "0x.5K"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, errno := parseSize(s)
		allowed(t, s, errno, 0, syscall.EINVAL)
		if errno == 0 && n > 1<<63-1 {
			t.Fatalf("%q: %d out of range", s, n)
		}
		if errno == 0 && !strings.ContainsAny(s, "KMGkmgi") {
			if back, _ := parseSize(strconv.FormatUint(n, 10)); back != n {
				t.Fatalf("%q: %d does not spell back", s, n)
			}
		}
	})
}

func FuzzParseMode(f *testing.F) {
	for _, s := range []string{"0644", "644", "0", "777", "0777", "1000", "1777", "07777", "10000", "0999", "-1", "+644", "", "0o644"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, errno := parseMode(s)
		allowed(t, s, errno, 0, syscall.EINVAL)
		if errno == 0 {
			if m > 0777 {
				t.Fatalf("%q: mode %o", s, m)
			}
			if back, _ := parseMode(fmt.Sprintf("%o", m)); back != m {
				t.Fatalf("%q: %o does not spell back", s, m)
			}
		}
	})
}

func FuzzParseCreate(f *testing.F) {
	for _, s := range []string{"0x1234 1M 0600", "private 4096", "1 2", "0x1 0", "0x1 1K 999", "0x1", "a b c d", ""} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, withN bool) {
		var parseN func(string) (uint64, syscall.Errno)
		if withN {
			parseN = parseSize
		}
		a, errno := parseCreate(strings.Fields(s), parseN)
		allowed(t, s, errno, 0, syscall.EINVAL)
		if errno == 0 && (a.mode > 0777 || (!withN && a.n != 0)) {
			t.Fatalf("%q: %+v", s, a)
		}
	})
}

// minOp is how -32768 is written (leading zeros allowed).
var minOp = regexp.MustCompile(`(^|[\t\n\v\f\r :])-0*32768([\t\n\v\f\r ]|$)`)

func checkSemCommand(t *testing.T, input string, c semCommand, nsems int) {
	t.Helper()
	if c.setVal != (len(c.ops) == 0) {
		t.Fatalf("%q: accepted with operations %+v and SETVAL %v", input, c.ops, c.setVal)
	}
	for _, op := range c.ops {
		// -32768 (a short's least) is an operation too; "+32768" must
		// not wrap to it (TestSemWriteForms has both).
		if int(op.Num) >= nsems || op.Op == math.MinInt16 && !minOp.MatchString(input) {
			t.Fatalf("%q: op %+v out of range", input, op)
		}
	}
	if c.setVal && (c.value < 0 || c.value > sysv.SemVMX || c.undo || c.setNum >= nsems) {
		t.Fatalf("%q: bad SETVAL %+v", input, c)
	}
	if c.timeout < 0 {
		t.Fatalf("%q: negative timeout", input)
	}
}

func FuzzParseSemWrite(f *testing.F) {
	for _, s := range []string{"1", "+1", "-1", "0", "=5", "-1 undo", "-1 nowait", "-1 timeout=500ms", "=1 undo", "+0", "-0", "40000", "=-1", "1 2", "", "nowait", "-1 timeout=-1s", "-1 timeout=0", "\n-1\n", "-32768", "+32768"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, errno := parseSemWrite(s, 3)
		allowed(t, s, errno, 0, syscall.EINVAL, syscall.ERANGE)
		if errno == 0 {
			checkSemCommand(t, s, c, 4)
		}
		// Past semop's 16 bits only SETVAL, of that very semaphore.
		c, errno = parseSemWrite(s, 1<<16+2)
		allowed(t, s, errno, 0, syscall.EINVAL, syscall.ERANGE)
		if errno == 0 && (!c.setVal || c.setNum != 1<<16+2) {
			t.Fatalf("%q on semaphore 65538: %+v", s, c)
		}
	})
}

func FuzzParseSemopWrite(f *testing.F) {
	for _, s := range []string{"0:-1 1:+1", "0:-1 1:+1 undo", "0:0", "5:+1", "0:=1", "0:", ":1", "0:-1 nowait timeout=1s", "", "0:-1 x", "65536:1", "0:+40000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, errno := parseSemopWrite(s)
		allowed(t, s, errno, 0, syscall.EINVAL, syscall.ERANGE)
		if errno == 0 {
			checkSemCommand(t, s, c, 1<<16)
			if c.setVal {
				t.Fatalf("%q: SETVAL in a semop", s)
			}
		}
	})
}

func FuzzMsgAlias(f *testing.F) {
	for _, s := range []string{"1", "-4", "0", "peek", "+1", "01", "9223372036854775807", "-9223372036854775808", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, suffix string) {
		o := object{id: 42}
		node, ino, errno := msgKind{files: &openSlots{}}.alias(&o, suffix)
		allowed(t, suffix, errno, 0, syscall.ENOENT)
		if errno != 0 {
			return
		}
		if q, ok := node.(*queueNode); ok {
			if q.mtype == 0 || strconv.FormatInt(q.mtype, 10) != suffix {
				t.Fatalf("%q: type %d", suffix, q.mtype)
			}
			if ino != 0 && ino>>56 != inoMsgTypedBase>>56 {
				t.Fatalf("%q: inode %#x", suffix, ino)
			}
		}
	})
}
