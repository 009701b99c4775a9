package fs

import (
	"fmt"
	"strconv"

	"github.com/ipcfs/ipcfs/sysv"
)

// The status tables: one row per object with every field ipcs and lsipc
// know of it, owner and creator by name, and for segments the processes
// attached right now, which neither tool shows.

func permCells(n names, p *sysv.Perm, id int) []string {
	return []string{p.Key.String(), strconv.Itoa(id),
		n.user(p.Uid), n.group(p.Gid), n.user(p.Cuid), n.group(p.Cgid),
		fmt.Sprintf("%03o", p.Mode&0777)}
}

func shmStatus(caller *sysv.Cred) ([]byte, error) {
	segs, err := sysv.Segments()
	if err != nil {
		return nil, err
	}
	att, err := attachmentsSeenBy(caller)
	if err != nil {
		return nil, err // out of descriptors: no view rather than a wrong one
	}
	n := loadNames()
	t := newTable("key", "shmid", "owner", "group", "cuser", "cgroup", "perms", "bytes", "nattch",
		"status", "cpid", "lpid", "attached", "attach-time", "detach-time", "change-time", "command")
	for i := range segs {
		s := &segs[i]
		status := ""
		switch {
		case s.Removed() && s.Locked():
			status = "dest,locked"
		case s.Removed():
			status = "dest"
		case s.Locked():
			status = "locked"
		}
		t.add(append(permCells(n, &s.Perm, s.ID),
			strconv.FormatUint(s.Size, 10), strconv.FormatUint(s.Nattch, 10), status,
			strconv.Itoa(int(s.Cpid)), strconv.Itoa(int(s.Lpid)), joinInts(att[s.ID], ","),
			timeCell(s.Atime), timeCell(s.Dtime), timeCell(s.Ctime), commandOf(s.Cpid))...)
	}
	return t.bytes(), nil
}

func semStatus() ([]byte, error) {
	sets, err := sysv.SemSets()
	if err != nil {
		return nil, err
	}
	n := loadNames()
	t := newTable("key", "semid", "owner", "group", "cuser", "cgroup", "perms", "nsems", "op-time", "change-time")
	for i := range sets {
		s := &sets[i]
		t.add(append(permCells(n, &s.Perm, s.ID), strconv.Itoa(s.Nsems), timeCell(s.Otime), timeCell(s.Ctime))...)
	}
	return t.bytes(), nil
}

func msgStatus() ([]byte, error) {
	qs, err := sysv.Queues()
	if err != nil {
		return nil, err
	}
	n := loadNames()
	t := newTable("key", "msqid", "owner", "group", "cuser", "cgroup", "perms", "used-bytes", "messages",
		"max-bytes", "lspid", "lrpid", "send-time", "recv-time", "change-time")
	for i := range qs {
		q := &qs[i]
		t.add(append(permCells(n, &q.Perm, q.ID),
			strconv.FormatUint(q.Cbytes, 10), strconv.FormatUint(q.Qnum, 10), strconv.FormatUint(q.Qbytes, 10),
			strconv.Itoa(int(q.Lspid)), strconv.Itoa(int(q.Lrpid)),
			timeCell(q.Stime), timeCell(q.Rtime), timeCell(q.Ctime))...)
	}
	return t.bytes(), nil
}
