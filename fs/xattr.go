package fs

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"github.com/ipcfs/ipcfs/sysv"
)

// The user.ipc.* extended attributes: the kernel's fields of an object,
// one per attribute, named without their prefixes (shm_segsz -> segsz),
// with raw values (times in seconds since the epoch, 0 for never).
const xattrPrefix = "user.ipc."

type xattr struct{ name, value string }

func permXattrs(p *sysv.Perm, id int) []xattr {
	return []xattr{
		{"key", p.Key.String()},
		{"id", strconv.Itoa(id)},
		{"uid", u32(p.Uid)}, {"gid", u32(p.Gid)},
		{"cuid", u32(p.Cuid)}, {"cgid", u32(p.Cgid)},
		{"mode", fmt.Sprintf("%#o", p.Mode)},
	}
}

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
func i64(v int64) string  { return strconv.FormatInt(v, 10) }

func segmentXattrs(s *sysv.Segment, attached string) []xattr {
	return append(permXattrs(&s.Perm, s.ID),
		xattr{"segsz", strconv.FormatUint(s.Size, 10)},
		xattr{"nattch", strconv.FormatUint(s.Nattch, 10)},
		xattr{"cpid", i64(int64(s.Cpid))}, xattr{"lpid", i64(int64(s.Lpid))},
		xattr{"atime", i64(s.Atime)}, xattr{"dtime", i64(s.Dtime)}, xattr{"ctime", i64(s.Ctime)},
		xattr{"attached", attached},
	)
}

func semSetXattrs(s *sysv.SemSet) []xattr {
	return append(permXattrs(&s.Perm, s.ID),
		xattr{"nsems", strconv.Itoa(s.Nsems)},
		xattr{"otime", i64(s.Otime)}, xattr{"ctime", i64(s.Ctime)},
	)
}

func queueXattrs(q *sysv.Queue) []xattr {
	return append(permXattrs(&q.Perm, q.ID),
		xattr{"qnum", strconv.FormatUint(q.Qnum, 10)},
		xattr{"qbytes", strconv.FormatUint(q.Qbytes, 10)},
		xattr{"cbytes", strconv.FormatUint(q.Cbytes, 10)},
		xattr{"lspid", i64(int64(q.Lspid))}, xattr{"lrpid", i64(int64(q.Lrpid))},
		xattr{"stime", i64(q.Stime)}, xattr{"rtime", i64(q.Rtime)}, xattr{"ctime", i64(q.Ctime)},
	)
}

// getXattr answers getxattr(2) from list: the size when dest is empty,
// ERANGE when dest is too small, ENODATA for a name not there.
func getXattr(list []xattr, name string, dest []byte) (uint32, syscall.Errno) {
	short, ok := strings.CutPrefix(name, xattrPrefix)
	if !ok {
		return 0, syscall.ENODATA
	}
	for _, x := range list {
		if x.name == short {
			if len(dest) == 0 {
				return uint32(len(x.value)), 0
			}
			if len(dest) < len(x.value) {
				return 0, syscall.ERANGE
			}
			return uint32(copy(dest, x.value)), 0
		}
	}
	return 0, syscall.ENODATA
}

// listXattr answers listxattr(2): the names, each NUL-terminated.
func listXattr(list []xattr, dest []byte) (uint32, syscall.Errno) {
	var b []byte
	for _, x := range list {
		b = append(append(append(b, xattrPrefix...), x.name...), 0)
	}
	if len(dest) == 0 {
		return uint32(len(b)), 0
	}
	if len(dest) < len(b) {
		return 0, syscall.ERANGE
	}
	return uint32(copy(dest, b)), 0
}

// setXattr refuses every change: the attributes mirror the kernel's
// record, which chmod and chown change.
func setXattr(name string) syscall.Errno {
	if strings.HasPrefix(name, xattrPrefix) {
		return syscall.EPERM
	}
	return syscall.ENOTSUP
}

// attachedPids is user.ipc.attached: the pids with segment id attached
// right now that caller can see, comma-separated.
func attachedPids(caller *sysv.Cred, id int) (string, error) {
	m, err := attachmentsSeenBy(caller)
	if err != nil {
		return "", err
	}
	return joinInts(m[id], ","), nil
}

// attachmentsSeenBy is sysv.Attachments read as caller. The kernel shows
// a process's maps (and namespaces) only to those who may trace it, so
// the views show a caller the attachments it could find itself, as fuser
// run by that caller would.
func attachmentsSeenBy(caller *sysv.Cred) (att map[int][]int, err error) {
	err = caller.Do(func() (err error) { att, err = sysv.Attachments(); return })
	return att, err
}

func joinInts(v []int, sep string) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, sep)
}
