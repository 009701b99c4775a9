package sysv

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newQueue makes a private queue, removed when the test ends.
func newQueue(t *testing.T, mode int) int {
	t.Helper()
	id, err := MsgGet(Private, Create|mode)
	if err != nil {
		t.Fatalf("MsgGet: %v", err)
	}
	t.Cleanup(func() {
		if err := MsgRemove(id); err != nil && err != unix.EINVAL && err != unix.EIDRM {
			t.Errorf("MsgRemove(%d): %v", id, err)
		}
	})
	return id
}

func mustStat(t *testing.T, id int) Queue {
	t.Helper()
	q, err := MsgStat(id)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func send(t *testing.T, id int, mtype int64, s string) {
	t.Helper()
	if err := MsgSend(bg, nil, id, mtype, []byte(s), true); err != nil {
		t.Fatalf("MsgSend(%d, %q): %v", mtype, s, err)
	}
}

func recv(t *testing.T, id int, mtype int64) (int64, string) {
	t.Helper()
	buf := make([]byte, 8192)
	typ, n, err := MsgReceive(bg, nil, id, mtype, buf, true)
	if err != nil {
		t.Fatalf("MsgReceive(%d): %v", mtype, err)
	}
	return typ, string(buf[:n])
}

func TestMsgStat(t *testing.T) {
	before := time.Now().Unix()
	id := newQueue(t, 0640)
	q := mustStat(t, id)
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	mnb, _ := os.ReadFile("/proc/sys/kernel/msgmnb")
	if q.ID != id || q.Perm.Mode&0777 != 0640 || q.Perm.Key != Private || q.Perm.Uid != uid || q.Perm.Cgid != gid ||
		q.Qnum != 0 || q.Cbytes != 0 || q.Stime != 0 || q.Rtime != 0 || q.Ctime < before-1 ||
		strconv.FormatUint(q.Qbytes, 10) != strings.TrimSpace(string(mnb)) {
		t.Errorf("MsgStat = %+v", q)
	}

	send(t, id, 1, "hello")
	send(t, id, 2, "abc")
	h := newHelper(t)
	pid := h.run("msgsnd", strconv.Itoa(id), "9", "from C")[0]
	q = mustStat(t, id)
	if q.Qnum != 3 || q.Cbytes != 5+3+6 || strconv.Itoa(int(q.Lspid)) != pid || q.Stime < before-1 {
		t.Errorf("after 3 sends: %+v (C pid %s)", q, pid)
	}
	recv(t, id, 2)
	q = mustStat(t, id)
	if q.Qnum != 2 || q.Cbytes != 11 || int(q.Lrpid) != os.Getpid() || q.Rtime < before-1 {
		t.Errorf("after a receive: %+v", q)
	}
	row := procRow(t, "msg", id)
	for col, got := range map[string]int64{
		"key": int64(q.Perm.Key), "cbytes": int64(q.Cbytes), "qnum": int64(q.Qnum),
		"lspid": int64(q.Lspid), "lrpid": int64(q.Lrpid), "uid": int64(q.Perm.Uid), "gid": int64(q.Perm.Gid),
		"cuid": int64(q.Perm.Cuid), "cgid": int64(q.Perm.Cgid), "stime": q.Stime, "rtime": q.Rtime, "ctime": q.Ctime,
	} {
		if row[col] != strconv.FormatInt(got, 10) {
			t.Errorf("%s: MsgStat %d, /proc %s", col, got, row[col])
		}
	}
	if row["perms"] != strconv.FormatUint(uint64(q.Perm.Mode), 8) {
		t.Errorf("perms: MsgStat %o, /proc %s", q.Perm.Mode, row["perms"])
	}
}

func TestMsgSetPerm(t *testing.T) {
	id := newQueue(t, 0600)
	if err := MsgSetQbytes(id, 100); err != nil {
		t.Fatal(err)
	}
	if q := mustStat(t, id); q.Qbytes != 100 || q.Perm.Mode != 0600 {
		t.Errorf("after MsgSetQbytes: %+v", q)
	}
	if err := MsgSetPerm(id, 1234, 5678, 0o1644, 100); err != nil {
		t.Fatal(err)
	}
	q := mustStat(t, id)
	if q.Perm.Uid != 1234 || q.Perm.Gid != 5678 || q.Perm.Mode != 0644 || q.Qbytes != 100 ||
		q.Perm.Cuid != uint32(os.Geteuid()) {
		t.Errorf("after MsgSetPerm: %+v", q)
	}
	if err := MsgSetQbytes(id, 50); err != nil {
		t.Fatal(err)
	}
	if q := mustStat(t, id); q.Qbytes != 50 || q.Perm.Uid != 1234 || q.Perm.Mode != 0644 {
		t.Errorf("after MsgSetQbytes: %+v", q)
	}
	send(t, id, 1, strings.Repeat("x", 50)) // still usable
	if err := MsgSend(bg, nil, id, 1, []byte("y"), true); err != unix.EAGAIN {
		t.Errorf("send to a full queue: %v, want EAGAIN", err)
	}
}

func TestMsgRoundTrip(t *testing.T) {
	id := newQueue(t, 0600)
	for _, m := range []struct {
		t int64
		s string
	}{{3, "three"}, {1, "one"}, {2, "two"}, {5, "five"}, {1, ""}} {
		send(t, id, m.t, m.s)
	}
	for _, want := range []struct {
		msgtyp int64
		t      int64
		s      string
	}{
		{-2, 1, "one"},  // lowest type up to 2, oldest first
		{5, 5, "five"},  // that type
		{0, 3, "three"}, // oldest
		{-9, 1, ""},     // an empty message
		{0, 2, "two"},
	} {
		if typ, s := recv(t, id, want.msgtyp); typ != want.t || s != want.s {
			t.Errorf("msgtyp %d: got %d %q, want %d %q", want.msgtyp, typ, s, want.t, want.s)
		}
	}
	if _, _, err := MsgReceive(bg, nil, id, 0, make([]byte, 10), true); err != unix.ENOMSG {
		t.Errorf("nowait receive from empty queue: %v, want ENOMSG", err)
	}
	for _, mt := range []int64{0, -1} {
		if err := MsgSend(bg, nil, id, mt, []byte("x"), true); err != unix.EINVAL {
			t.Errorf("send type %d: %v, want EINVAL", mt, err)
		}
	}
	big := bytes.Repeat([]byte("m"), 100000)
	if err := MsgSend(bg, nil, id, 1, big, true); err != unix.EINVAL {
		t.Errorf("send past msgmax: %v, want EINVAL", err)
	}
	if q := mustStat(t, id); q.Qnum != 0 {
		t.Errorf("queue not empty: %+v", q)
	}
	if _, _, err := MsgReceive(bg, nil, -1, 0, nil, true); err != unix.EINVAL {
		t.Errorf("bad id: %v, want EINVAL", err)
	}
}

func TestMsgE2BIG(t *testing.T) {
	id := newQueue(t, 0600)
	msg := strings.Repeat("0123456789", 10)
	send(t, id, 4, msg)
	buf := make([]byte, 99)
	for _, nowait := range []bool{true, false} {
		if _, _, err := MsgReceive(bg, nil, id, 0, buf, nowait); err != unix.E2BIG {
			t.Errorf("short buffer (nowait %v): %v, want E2BIG", nowait, err)
		}
	}
	if q := mustStat(t, id); q.Qnum != 1 || q.Cbytes != 100 || q.Lrpid != 0 {
		t.Errorf("message not kept: %+v", q)
	}
	buf = make([]byte, 100)
	if typ, n, err := MsgReceive(bg, nil, id, 0, buf, true); err != nil || typ != 4 || string(buf[:n]) != msg {
		t.Errorf("exact buffer: %d %q %v", typ, buf[:n], err)
	}
}

func TestMsgBlockingReceive(t *testing.T) {
	id := newQueue(t, 0600)
	buf := make([]byte, 64)
	type res struct {
		typ int64
		n   int
	}
	got := make(chan res, 1)
	done := make(chan error, 1)
	go func() {
		typ, n, err := MsgReceive(bg, nil, id, 7, buf, false)
		got <- res{typ, n}
		done <- err
	}()
	eventually(t, "msgrcv to block", func() bool { return threadInSyscall(unix.SYS_MSGRCV) })
	send(t, id, 6, "not for it")
	send(t, id, 7, "for it")
	if err := wait(t, "msgrcv", done); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.typ != 7 || string(buf[:r.n]) != "for it" {
		t.Errorf("got %d %q", r.typ, buf[:r.n])
	}
	if q := mustStat(t, id); q.Qnum != 1 {
		t.Errorf("qnum %d, want 1", q.Qnum)
	}
}

// A message sent to a waiting receiver with too small a buffer fails
// that receive with E2BIG and stays queued.
func TestMsgE2BIGWhileBlocked(t *testing.T) {
	id := newQueue(t, 0600)
	done := make(chan error, 1)
	go func() {
		_, _, err := MsgReceive(bg, nil, id, 0, make([]byte, 3), false)
		done <- err
	}()
	eventually(t, "msgrcv to block", func() bool { return threadInSyscall(unix.SYS_MSGRCV) })
	send(t, id, 1, "four")
	if err := wait(t, "msgrcv", done); err != unix.E2BIG {
		t.Errorf("got %v, want E2BIG", err)
	}
	if typ, s := recv(t, id, 0); typ != 1 || s != "four" {
		t.Errorf("kept message: %d %q", typ, s)
	}
}

func TestMsgBlockingSend(t *testing.T) {
	id := newQueue(t, 0600)
	if err := MsgSetQbytes(id, 8); err != nil {
		t.Fatal(err)
	}
	send(t, id, 1, "12345678")
	if err := MsgSend(bg, nil, id, 2, []byte("x"), true); err != unix.EAGAIN {
		t.Errorf("nowait send to full queue: %v, want EAGAIN", err)
	}
	done := make(chan error, 1)
	go func() { done <- MsgSend(bg, nil, id, 2, []byte("later"), false) }()
	eventually(t, "msgsnd to block", func() bool { return threadInSyscall(unix.SYS_MSGSND) })
	if typ, s := recv(t, id, 0); typ != 1 || s != "12345678" {
		t.Errorf("first: %d %q", typ, s)
	}
	if err := wait(t, "msgsnd", done); err != nil {
		t.Fatal(err)
	}
	if typ, s := recv(t, id, 0); typ != 2 || s != "later" {
		t.Errorf("second: %d %q", typ, s)
	}
}

func TestMsgCancel(t *testing.T) {
	id := newQueue(t, 0600)
	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	go func() {
		_, _, err := MsgReceive(ctx, nil, id, 0, make([]byte, 10), false)
		done <- err
	}()
	eventually(t, "msgrcv to block", func() bool { return threadInSyscall(unix.SYS_MSGRCV) })
	cancel()
	if err := wait(t, "msgrcv", done); err != unix.EINTR {
		t.Errorf("cancelled receive: %v, want EINTR", err)
	}

	if err := MsgSetQbytes(id, 4); err != nil {
		t.Fatal(err)
	}
	send(t, id, 1, "full")
	ctx, cancel = context.WithCancel(bg)
	go func() { done <- MsgSend(ctx, nil, id, 2, []byte("more"), false) }()
	eventually(t, "msgsnd to block", func() bool { return threadInSyscall(unix.SYS_MSGSND) })
	cancel()
	if err := wait(t, "msgsnd", done); err != unix.EINTR {
		t.Errorf("cancelled send: %v, want EINTR", err)
	}
	if q := mustStat(t, id); q.Qnum != 1 || q.Cbytes != 4 || q.Lrpid != 0 {
		t.Errorf("queue changed: %+v", q)
	}
}

func TestMsgRemovedWhileBlocked(t *testing.T) {
	id := newQueue(t, 0600)
	done := make(chan error, 1)
	go func() {
		_, _, err := MsgReceive(bg, nil, id, 0, make([]byte, 10), false)
		done <- err
	}()
	eventually(t, "msgrcv to block", func() bool { return threadInSyscall(unix.SYS_MSGRCV) })
	if err := MsgRemove(id); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, "msgrcv", done); err != unix.EIDRM {
		t.Errorf("receive from removed queue: %v, want EIDRM", err)
	}
}

func TestMsgPeek(t *testing.T) {
	id := newQueue(t, 0600)
	msgs := []string{"first", "", strings.Repeat("long ", 20)}
	for i, s := range msgs {
		send(t, id, int64(i+1), s)
	}
	before := mustStat(t, id)
	buf := make([]byte, 200)
	for i, s := range msgs {
		typ, n, err := MsgPeek(id, i, buf)
		if err == unix.ENOSYS {
			t.Skip("kernel without MSG_COPY (CONFIG_CHECKPOINT_RESTORE)")
		}
		if err != nil || typ != int64(i+1) || string(buf[:n]) != s {
			t.Errorf("peek %d: %d %q %v", i, typ, buf[:n], err)
		}
	}
	if _, _, err := MsgPeek(id, 3, buf); err != unix.ENOMSG {
		t.Errorf("peek past the end: %v, want ENOMSG", err)
	}
	if _, _, err := MsgPeek(id, -1, buf); err != unix.ENOMSG {
		t.Errorf("peek at -1: %v, want ENOMSG", err)
	}
	// A short buffer gets the head of the message and its full length.
	short := make([]byte, 7)
	if typ, n, err := MsgPeek(id, 2, short); err != nil || typ != 3 || n != len(msgs[2]) || string(short) != msgs[2][:7] {
		t.Errorf("short peek: %d %d %q %v", typ, n, short, err)
	}
	if typ, n, err := MsgPeek(id, 0, nil); err != nil || typ != 1 || n != 5 {
		t.Errorf("peek with no buffer: %d %d %v", typ, n, err)
	}
	if after := mustStat(t, id); after != before {
		t.Errorf("peek changed the queue: %+v, was %+v", after, before)
	}
	for i, s := range msgs {
		if typ, got := recv(t, id, 0); typ != int64(i+1) || got != s {
			t.Errorf("receive %d: %d %q", i, typ, got)
		}
	}
}

func TestMsgCred(t *testing.T) {
	other := otherCred(t)
	priv := newQueue(t, 0600)
	if err := MsgSend(bg, other, priv, 1, []byte("x"), false); err != unix.EACCES {
		t.Errorf("send without permission: %v, want EACCES", err)
	}
	if _, _, err := MsgReceive(bg, other, priv, 0, make([]byte, 1), false); err != unix.EACCES {
		t.Errorf("receive without permission: %v, want EACCES", err)
	}
	open := newQueue(t, 0666)
	done := make(chan error, 1)
	go func() {
		_, _, err := MsgReceive(bg, other, open, 0, make([]byte, 10), false)
		done <- err
	}()
	eventually(t, "msgrcv to block", func() bool { return threadInSyscall(unix.SYS_MSGRCV) })
	if err := MsgSend(bg, other, open, 1, []byte("hi"), false); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, "msgrcv", done); err != nil {
		t.Errorf("receive as another user: %v", err)
	}
}

func TestQueues(t *testing.T) {
	a := newQueue(t, 0600)
	b := newQueue(t, 0644)
	send(t, b, 3, "queued")
	if err := MsgSetPerm(b, 4321, 4321, 0, mustStatQbytes(t, b)); err != nil {
		t.Fatal(err)
	}
	qs, err := Queues()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{a, b} {
		want := mustStat(t, id)
		i := slices.IndexFunc(qs, func(q Queue) bool { return q.ID == id })
		if i < 0 {
			t.Errorf("queue %d not listed", id)
		} else if qs[i] != want {
			t.Errorf("listed %+v, IPC_STAT %+v", qs[i], want)
		}
		procRow(t, "msg", id)
	}
}

func TestMsgLimits(t *testing.T) {
	l, err := MsgIPCInfo()
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]int32{"msgmax": l.Msgmax, "msgmnb": l.Msgmnb, "msgmni": l.Msgmni} {
		b, err := os.ReadFile("/proc/sys/kernel/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if strconv.Itoa(int(got)) != strings.TrimSpace(string(b)) {
			t.Errorf("%s: IPC_INFO %d, /proc %s", name, got, b)
		}
	}
	id := newQueue(t, 0600)
	send(t, id, 1, "12345")
	send(t, id, 1, "678")
	u, err := MsgUsage()
	if err != nil {
		t.Fatal(err)
	}
	// Other tests may use queues meanwhile: bounds only.
	if u.Msgpool < 1 || u.Msgmap < 2 || u.Msgtql < 8 || u.Msgmax != l.Msgmax {
		t.Errorf("MSG_INFO %+v", u)
	}
}

func TestMsgAllocs(t *testing.T) {
	skipIfRace(t) // the race detector makes sync.Pool drop buffers at random
	id := newQueue(t, 0600)
	data, buf := []byte("payload"), make([]byte, 64)
	MsgSend(bg, nil, id, 1, data, true) // warm the pool
	MsgReceive(bg, nil, id, 0, buf, true)
	n := testing.AllocsPerRun(100, func() {
		if err := MsgSend(bg, nil, id, 1, data, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := MsgReceive(bg, nil, id, 0, buf, true); err != nil {
			t.Fatal(err)
		}
	})
	if n > 0 {
		t.Errorf("MsgSend+MsgReceive allocate %v times", n)
	}
}

func mustStatQbytes(t *testing.T, id int) uint64 {
	t.Helper()
	q, err := MsgStat(id)
	if err != nil {
		t.Fatal(err)
	}
	return q.Qbytes
}
