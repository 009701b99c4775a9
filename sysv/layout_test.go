package sysv

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The Go structs handed to the kernel, by the names the C programs in
// testdata print, with the C field names mapped to Go ones.
var layouts = []struct {
	name   string
	typ    reflect.Type
	fields map[string]string
}{
	{"perm", reflect.TypeFor[unix.SysvIpcPerm](), map[string]string{
		"key": "Key", "uid": "Uid", "gid": "Gid", "cuid": "Cuid", "cgid": "Cgid", "mode": "Mode", "seq": "Seq"}},
	{"sem", reflect.TypeFor[semid64Ds](), map[string]string{
		"perm": "Perm", "otime": "Otime", "ctime": "Ctime", "nsems": "Nsems"}},
	{"sembuf", reflect.TypeFor[SemOp](), map[string]string{
		"num": "Num", "op": "Op", "flg": "Flags"}},
	{"seminfo", reflect.TypeFor[SemLimits](), map[string]string{
		"semmap": "Semmap", "semmni": "Semmni", "semmns": "Semmns", "semmnu": "Semmnu", "semmsl": "Semmsl",
		"semopm": "Semopm", "semume": "Semume", "semusz": "Semusz", "semvmx": "Semvmx", "semaem": "Semaem"}},
	{"msq", reflect.TypeFor[msqid64Ds](), map[string]string{
		"perm": "Perm", "stime": "Stime", "rtime": "Rtime", "ctime": "Ctime", "cbytes": "Cbytes",
		"qnum": "Qnum", "qbytes": "Qbytes", "lspid": "Lspid", "lrpid": "Lrpid"}},
	{"msginfo", reflect.TypeFor[MsgLimits](), map[string]string{
		"msgpool": "Msgpool", "msgmap": "Msgmap", "msgmax": "Msgmax", "msgmnb": "Msgmnb", "msgmni": "Msgmni",
		"msgssz": "Msgssz", "msgtql": "Msgtql", "msgseg": "Msgseg"}},
	{"shm", reflect.TypeFor[unix.SysvShmDesc](), map[string]string{
		"perm": "Perm", "segsz": "Segsz", "atime": "Atime", "dtime": "Dtime", "ctime": "Ctime",
		"cpid": "Cpid", "lpid": "Lpid", "nattch": "Nattch"}},
}

// TestLayout compares the Go structs with the kernel's uapi structs and
// with glibc's, as gcc lays them out.
func TestLayout(t *testing.T) {
	for _, src := range []string{"layout_kernel.c", "layout_glibc.c"} {
		t.Run(src, func(t *testing.T) {
			out, err := exec.Command(buildC(t, src)).Output()
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for line := range strings.Lines(string(out)) {
				f := strings.Fields(line)
				st, field := f[0], f[1]
				var typ reflect.Type
				var names map[string]string
				for _, l := range layouts {
					if l.name == st {
						typ, names = l.typ, l.fields
					}
				}
				if typ == nil {
					t.Fatalf("no Go struct for %q", st)
				}
				if field == "size" {
					if want := atoi(t, f[2]); int(typ.Size()) != want {
						t.Errorf("sizeof %s: Go %s has %d, C %d", st, typ, typ.Size(), want)
					}
					continue
				}
				gf, ok := typ.FieldByName(names[field])
				if !ok {
					t.Errorf("%s.%s: no Go field", st, field)
					continue
				}
				seen[st+"."+field] = true
				if off, size := atoi(t, f[2]), atoi(t, f[3]); int(gf.Offset) != off || int(gf.Type.Size()) != size {
					t.Errorf("%s.%s: Go %s.%s at %d size %d, C at %d size %d",
						st, field, typ, gf.Name, gf.Offset, gf.Type.Size(), off, size)
				}
			}
			for _, l := range layouts {
				for c := range l.fields {
					if !seen[l.name+"."+c] {
						t.Errorf("%s.%s: not printed by %s", l.name, c, src)
					}
				}
			}
		})
	}
}

// buildC compiles testdata/src with gcc into a temporary directory.
func buildC(t *testing.T, src string) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not found: cannot build", src)
	}
	abs, err := filepath.Abs(filepath.Join("testdata", src))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), strings.TrimSuffix(src, ".c"))
	if out, err := exec.Command(gcc, "-Wall", "-Werror", "-o", bin, abs).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", src, err, out)
	}
	return bin
}

// helper runs testdata/ipchelper.c (built once per test) with args and
// returns its output lines.
type helper struct {
	t   *testing.T
	bin string
}

func newHelper(t *testing.T) *helper { return &helper{t, buildC(t, "ipchelper.c")} }

func (h *helper) run(args ...string) []string {
	h.t.Helper()
	out, err := exec.Command(h.bin, args...).Output()
	if err != nil {
		h.t.Fatalf("ipchelper %v: %v: %s", args, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// procRow returns the row of /proc/sysvipc/KIND whose second column (the
// id) is id, as column name -> value.
func procRow(t *testing.T, kind string, id int) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/sysvipc/" + kind)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan()
	head := strings.Fields(sc.Text())
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == len(head) && f[1] == strconv.Itoa(id) {
			row := map[string]string{}
			for i, h := range head {
				row[h] = f[i]
			}
			return row
		}
	}
	t.Fatalf("id %d not in /proc/sysvipc/%s", id, kind)
	return nil
}

// eventually polls cond until it holds, failing after a generous while.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// wait receives an error sent by a goroutine under test, failing after a
// generous while.
func wait(t *testing.T, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return nil
	}
}

// threadInSyscall reports whether some thread of this process is blocked
// in syscall nr (per /proc/self/task/*/syscall).
func threadInSyscall(nr int) bool {
	tasks, _ := filepath.Glob("/proc/self/task/*/syscall")
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 && f[0] == strconv.Itoa(nr) {
			return true
		}
	}
	return false
}

// otherCred is an identity other than the test's; only root can switch.
func otherCred(t *testing.T) *Cred {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch identity")
	}
	return &Cred{Uid: 65534, Gid: 65534}
}

var bg = context.Background()

// skipIfRace skips allocation counts, which the race detector changes.
func skipIfRace(t *testing.T) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				t.Skip("allocation counts differ under the race detector")
			}
		}
	}
}
