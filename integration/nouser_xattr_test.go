package integration

import (
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNoUserXattr: with -o nouser_xattr the objects have no extended
// attributes (EOPNOTSUPP, as ext4 mounted nouser_xattr answers), and an
// `echo >` into a semaphore costs no getxattr: the kernel, told ENOSYS
// once, stops asking for security.capability at each O_TRUNC. The
// semaphore write itself still works.
func TestNoUserXattr(t *testing.T) {
	m := mount(t, "-o", "nouser_xattr,debug")
	k, ks := newKey(), newKey()
	id := semNew(t, k, 1, 0600)
	newSegment(t, ks, 4096, 0600)
	sem := m.Path("sem", keyName(k), "0")

	for _, path := range []string{sem, m.Path("sem", keyName(k)), m.Path("shm", keyName(ks))} {
		if _, err := unix.Getxattr(path, "user.ipc.id", make([]byte, 64)); errnoOf(err) != syscall.EOPNOTSUPP {
			t.Errorf("getxattr %s user.ipc.id: %v, want EOPNOTSUPP", path, err)
		}
		if _, err := unix.Listxattr(path, make([]byte, 1024)); errnoOf(err) != syscall.EOPNOTSUPP {
			t.Errorf("listxattr %s: %v, want EOPNOTSUPP", path, err)
		}
		if err := unix.Setxattr(path, "user.ipc.mode", []byte("0777"), 0); errnoOf(err) != syscall.EOPNOTSUPP {
			t.Errorf("setxattr %s: %v, want EOPNOTSUPP", path, err)
		}
	}

	echoReleased(t, m, sem, "+1") // the kernel's dentry and inode now exist
	from := len(m.Log())
	echoReleased(t, m, sem, "-1")
	echoReleased(t, m, sem, "+1")
	if n := strings.Count(m.Log()[from:], ": GETXATTR "); n != 0 {
		t.Errorf("two echos sent %d getxattrs, want 0\n%s", n, m.Log()[from:])
	}
	if v := semVal(t, id, 0); v != 1 {
		t.Errorf("value %d after +1 -1 +1, want 1", v)
	}

	// The control: a mount with the attributes pays a getxattr per echo
	// on this kernel (logged, not asserted: a kernel may learn better).
	d := mount(t, "--debug")
	dsem := d.Path("sem", keyName(k), "0")
	echoReleased(t, d, dsem, "+1")
	from = len(d.Log())
	echoReleased(t, d, dsem, "-1")
	t.Logf("with user.ipc.*: %d getxattrs for one echo", strings.Count(d.Log()[from:], ": GETXATTR "))
}
