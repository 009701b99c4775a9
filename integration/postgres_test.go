package integration

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A real program's segments through the mount: PostgreSQL with System V
// shared memory. Its start-up refuses a data directory whose old segment
// is still attached, so a mount that kept an attachment after a read
// would break its restart.

// viewPGShmemMagic is PostgreSQL's PGShmemMagic (src/include/storage/pg_shmem.h),
// the first int32 of its main segment's header (struct PGShmemHeader:
// int32 magic, pid_t creatorPID, Size totalsize, ...).
const viewPGShmemMagic = 679834894

// viewPostgres is a PostgreSQL server of the test's own.
type viewPostgres struct {
	bin, data, sock, log string
	port                 int
}

// viewPostgresBin finds the server's bin directory; PostgreSQL must be
// installed (.ci/run installs it).
func viewPostgresBin(t testing.TB) string {
	t.Helper()
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(found) == 0 {
		t.Fatal("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/postgres (apt-get install postgresql)")
	}
	// The highest major version.
	slices.SortFunc(found, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(a))))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
		return va - vb
	})
	return filepath.Dir(found[len(found)-1])
}

// run runs one of the server's programs as the postgres user and returns
// its output; it must succeed.
func (pg *viewPostgres) run(t testing.TB, prog string, args ...string) string {
	t.Helper()
	out, err := pg.try(prog, args...)
	if err != nil {
		log, _ := os.ReadFile(pg.log)
		t.Fatalf("%s %v: %v\n%s\nserver log:\n%s", prog, args, err, out, log)
	}
	return out
}

func (pg *viewPostgres) try(prog string, args ...string) (string, error) {
	cmd := exec.Command("setpriv", append([]string{"--reuid=postgres", "--regid=postgres", "--init-groups", "--",
		filepath.Join(pg.bin, prog)}, args...)...)
	cmd.Dir = filepath.Dir(pg.data)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + filepath.Dir(pg.data), "LC_ALL=C", "LANG=C"}
	// Output goes to a file, not a pipe: a server that pg_ctl leaves
	// running would inherit a pipe and hold the call up.
	out, err := os.CreateTemp("", "view-pg-out-")
	if err != nil {
		return "", err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(180 * time.Second):
		cmd.Process.Kill()
		err = fmt.Errorf("%s did not end: %w", prog, <-done)
	}
	b, _ := os.ReadFile(out.Name())
	return string(b), err
}

// postmaster reads postmaster.pid: the postmaster's pid and its main
// segment's key and id (line 7).
func (pg *viewPostgres) postmaster(t testing.TB) (pid int, shmKey uint32, shmID int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pg.data, "postmaster.pid"))
	viewMust(t, err)
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 {
		t.Fatalf("postmaster.pid: %q", b)
	}
	pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	viewMust(t, err)
	var key uint64
	if _, err := fmt.Sscan(lines[6], &key, &shmID); err != nil {
		t.Fatalf("postmaster.pid line 7 %q: %v", lines[6], err)
	}
	return pid, uint32(key), shmID
}

// viewStartPostgres makes a fresh data directory and starts a server
// with System V shared memory, on a Unix socket only; it is stopped, and
// its segments checked gone, when the test ends.
func viewStartPostgres(t testing.TB) *viewPostgres {
	t.Helper()
	bin := viewPostgresBin(t)
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("no postgres user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir := t.TempDir()
	pg := &viewPostgres{bin: bin, data: filepath.Join(dir, "data"), sock: filepath.Join(dir, "sock"),
		log: filepath.Join(dir, "server.log"), port: 20000 + rand.IntN(40000)}
	openToOthers(t, pg.data)
	for _, d := range []string{pg.data, pg.sock} {
		viewMust(t, os.Mkdir(d, 0700))
		viewMust(t, os.Chown(d, uid, gid))
	}
	viewMust(t, os.Chown(dir, uid, gid)) // for the log
	pg.run(t, "initdb", "-D", pg.data, "-U", "postgres", "-A", "trust", "--no-sync", "--locale=C", "-E", "UTF8")

	var segs []int // every segment any of its postmasters made
	t.Cleanup(func() {
		pid := 0
		if b, err := os.ReadFile(filepath.Join(pg.data, "postmaster.pid")); err == nil {
			pid, _ = strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
		}
		if pid > 0 {
			segs = append(segs, viewMadeByPid(t, pid)...)
		}
		if out, err := pg.try("pg_ctl", "stop", "-D", pg.data, "-m", "immediate", "-w", "-t", "60"); err != nil && pid > 0 {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
		// Whatever happened, no server process and no segment stays. The
		// postmaster unlinks its pid file, which pg_ctl -w waits for, as
		// it exits, a moment before it is gone.
		for deadline := time.Now().Add(20 * time.Second); pid > 0 && !processGone(pid) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if pid > 0 && !processGone(pid) {
			t.Errorf("the postmaster %d is still running", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, id := range pg.segments(t, segs) {
			t.Errorf("PostgreSQL's segment %d outlived the server", id)
			rmid(t, id)
		}
	})
	opts := fmt.Sprintf("-c shared_memory_type=sysv -c dynamic_shared_memory_type=sysv -c listen_addresses='' "+
		"-c unix_socket_directories='%s' -p %d -c autovacuum=off -c shared_buffers=16MB -c fsync=off", pg.sock, pg.port)
	pg.run(t, "pg_ctl", "start", "-D", pg.data, "-l", pg.log, "-w", "-t", "120", "-o", opts)
	pid, _, _ := pg.postmaster(t)
	segs = viewMadeByPid(t, pid)
	if len(segs) == 0 {
		t.Fatalf("the postmaster %d made no System V segment", pid)
	}
	return pg
}

// segments returns those of ids that still exist, polling a while for a
// server that is ending.
func (pg *viewPostgres) segments(t testing.TB, ids []int) []int {
	deadline := time.Now().Add(20 * time.Second)
	for {
		var left []int
		for _, id := range ids {
			if !shmGone(id) {
				left = append(left, id)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// viewMadeByPid lists the segments whose creator is pid.
func viewMadeByPid(t testing.TB, pid int) []int {
	t.Helper()
	var ids []int
	for id := range madeBy(t, pid) {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// psql runs a query over the server's socket.
func (pg *viewPostgres) psql(t testing.TB, query string) string {
	t.Helper()
	return strings.TrimSpace(pg.run(t, "psql", "-h", pg.sock, "-p", strconv.Itoa(pg.port), "-U", "postgres",
		"-d", "postgres", "-X", "-A", "-t", "-c", query))
}

// viewStableNattch returns the kernel's nattch of segment id and the
// mount's (user.ipc.nattch, status column) read while the kernel's stays
// the same, retrying while PostgreSQL's processes come and go.
func viewStableNattch(t testing.TB, m *Mount, id int, name string) (kernel uint64, xattr, column string) {
	t.Helper()
	for try := 0; try < 200; try++ {
		before := nattch(t, id)
		xattr, _ = viewGetxattr(m.Path("shm", name), "user.ipc.nattch")
		row := viewTableByID(t, m.Path("shm", "status"), "shmid")[id]
		column = row["nattch"]
		if after := nattch(t, id); after == before {
			return before, xattr, column
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("segment %d: nattch never stayed still", id)
	return 0, "", ""
}

// TestPostgresSegments: PostgreSQL 15's System V segments show through
// the mount, made by its postmaster; its main segment's header, read
// through the mount, starts with PGShmemMagic and names the postmaster;
// nattch through the mount is the kernel's and reading does not change
// it; and with the mount up and read, `pg_ctl restart` works and the
// server answers.
func TestPostgresSegments(t *testing.T) {
	m := mount(t)
	pg := viewStartPostgres(t)
	pid, key, mainID := pg.postmaster(t)
	if got := pg.psql(t, "select 1"); got != "1" {
		t.Fatalf("select 1: %q", got)
	}

	// Its segments in shm/status: made by the postmaster, whose command
	// line shows.
	made := viewMadeByPid(t, pid)
	if !slices.Contains(made, mainID) {
		t.Fatalf("the main segment %d from postmaster.pid is not among the postmaster's %v", mainID, made)
	}
	status := viewTableByID(t, m.Path("shm", "status"), "shmid")
	for _, id := range made {
		row := status[id]
		if row == nil {
			t.Errorf("segment %d of the postmaster: no row in shm/status", id)
			continue
		}
		if row["cpid"] != strconv.Itoa(pid) || !strings.Contains(row["command"], "postgres") {
			t.Errorf("segment %d: cpid %q command %q; the postmaster is %d", id, row["cpid"], row["command"], pid)
		}
		if row["owner"] != "postgres" || row["cuser"] != "postgres" {
			t.Errorf("segment %d: owner %q creator %q, want postgres", id, row["owner"], row["cuser"])
		}
		d := shmStat(t, id)
		if row["bytes"] != strconv.FormatUint(d.Segsz, 10) || row["key"] != keyName(uint32(d.Perm.Key)) {
			t.Errorf("segment %d: row %v; IPC_STAT %+v", id, row, d)
		}
	}
	if len(made) < 2 {
		t.Errorf("with dynamic_shared_memory_type=sysv the postmaster made %v, want its main segment and a dynamic one", made)
	}

	d := shmStat(t, mainID)
	if uint32(d.Perm.Key) != key {
		t.Errorf("main segment %d: key %#x, postmaster.pid says %#x", mainID, uint32(d.Perm.Key), key)
	}
	name := viewName(d.Perm.Key, mainID)
	// The server's processes attach and detach (a backend ends after
	// psql returns): compare while IPC_STAT stays the same throughout.
	var problems []string
	for try := 0; try < 100; try++ {
		d = shmStat(t, mainID)
		problems = viewXattrProblems(t, m.Path("shm", name), viewShmAttrs(&d, mainID), "attached")
		if shmStat(t, mainID) == d {
			break
		}
		problems = append(problems, "IPC_STAT changed meanwhile")
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if att, _ := viewGetxattr(m.Path("shm", name), "user.ipc.attached"); !slices.Contains(strings.Split(att, ","), strconv.Itoa(pid)) {
		t.Errorf("user.ipc.attached %q of the main segment lacks the postmaster %d", att, pid)
	}

	// nattch through the mount is the kernel's, and reading the header
	// through the mount does not change it.
	before, x, col := viewStableNattch(t, m, mainID, name)
	if x != strconv.FormatUint(before, 10) || col != x {
		t.Errorf("main segment: user.ipc.nattch %q, status %q, the kernel %d", x, col, before)
	}
	f, err := os.Open(m.Path("shm", name))
	viewMust(t, err)
	hdr := make([]byte, 32)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		t.Fatalf("read the header through the mount: %v", err)
	}
	f.Close()
	if magic := int32(binary.LittleEndian.Uint32(hdr)); magic != viewPGShmemMagic {
		t.Errorf("the main segment starts with %d, want PGShmemMagic %d", magic, viewPGShmemMagic)
	}
	if creator := int32(binary.LittleEndian.Uint32(hdr[4:])); creator != int32(pid) {
		t.Errorf("the header's creatorPID is %d, the postmaster %d", creator, pid)
	}
	if total := binary.LittleEndian.Uint64(hdr[8:]); total != d.Segsz {
		t.Errorf("the header's totalsize is %d, the segment's size %d", total, d.Segsz)
	}
	if out := mustSh(t, "head -c 4 "+m.Path("shm", name)+" | od -An -t d4"); strings.TrimSpace(out) != strconv.Itoa(viewPGShmemMagic) {
		t.Errorf("head -c 4 | od: %q", out)
	}
	shmPollUntil(t, "the mount drops its attachment", func() bool {
		return len(daemonMapsOf(t, m.cmd.Process.Pid, mainID)) == 0
	})
	after, x, col := viewStableNattch(t, m, mainID, name)
	if after != before {
		t.Errorf("main segment: nattch %d before reading through the mount, %d after", before, after)
	}
	if x != strconv.FormatUint(after, 10) || col != x {
		t.Errorf("main segment after the read: user.ipc.nattch %q, status %q, the kernel %d", x, col, after)
	}
	mustSh(t, "ls -l "+m.Path("shm")+" > /dev/null; cat "+m.Path("shm", "status")+" > /dev/null; getfattr -d "+m.Path("shm", name)+" > /dev/null")

	// A restart with the mount up, after the reads.
	pg.run(t, "pg_ctl", "restart", "-D", pg.data, "-l", pg.log, "-m", "fast", "-w", "-t", "120")
	if got := pg.psql(t, "select 1"); got != "1" {
		t.Errorf("select 1 after the restart: %q", got)
	}
	pid2, _, mainID2 := pg.postmaster(t)
	if pid2 == pid {
		t.Errorf("the postmaster %d did not restart", pid)
	}
	if left := pg.segments(t, made); len(left) != 0 {
		t.Errorf("the old server's segments %v outlived it", left)
	}
	d2 := shmStat(t, mainID2)
	name2 := viewName(d2.Perm.Key, mainID2)
	b, err := os.ReadFile(m.Path("shm", name2))
	if err != nil || len(b) < 4 || int32(binary.LittleEndian.Uint32(b)) != viewPGShmemMagic {
		t.Errorf("the new main segment through the mount: %d bytes, %v", len(b), err)
	}
	if got := pg.psql(t, "select count(*) from pg_class where relname = 'pg_class'"); got != "1" {
		t.Errorf("a query after reading the new main segment: %q", got)
	}
	if row := viewTableByID(t, m.Path("shm", "status"), "shmid")[mainID2]; row == nil || row["cpid"] != strconv.Itoa(pid2) {
		t.Errorf("the new main segment %d in shm/status: %v, want cpid %d", mainID2, row, pid2)
	}
}
