package integration

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// writeControl writes text to a control file in one write(2) and returns
// the errno (0 on success); a short write is an error of the test.
func writeControl(t testing.TB, path, text string) syscall.Errno {
	t.Helper()
	fd, err := syscall.Open(path, syscall.O_WRONLY, 0)
	if err != nil {
		return errnoOf(err)
	}
	defer syscall.Close(fd)
	n, err := syscall.Write(fd, []byte(text))
	if err != nil {
		return errnoOf(err)
	}
	if n != len(text) {
		t.Fatalf("write %q to %s: %d bytes written", text, path, n)
	}
	return 0
}

// TestShmCreate: writing `KEY SIZE [MODE]` to shm/create makes the same
// segment shmget(KEY, SIZE, IPC_CREAT|IPC_EXCL|MODE) makes directly.
func TestShmCreate(t *testing.T) {
	m := mount(t)
	create := m.Path("shm", "create")

	for _, c := range []struct {
		keyText  func(key uint32) string
		size     string
		mode     string // as written; "" for none
		wantSize uint64
		wantMode uint32
	}{
		{func(k uint32) string { return fmt.Sprintf("0x%x", k) }, "4096", "", 4096, 0644},
		{func(k uint32) string { return fmt.Sprintf("0X%X", k) }, "1", "0600", 1, 0600},
		{func(k uint32) string { return fmt.Sprint(k) }, "8K", "600", 8192, 0600},
		{func(k uint32) string { return fmt.Sprint(int32(k)) }, "3k", "0", 3072, 0},
		{func(k uint32) string { return keyName(k) }, "2M", "0777", 2 << 20, 0777},
		{func(k uint32) string { return keyName(k) }, "1G", "0640", 1 << 30, 0640},
		{func(k uint32) string { return keyName(k) }, "5KiB", "0644", 5 << 10, 0644},
		{func(k uint32) string { return keyName(k) }, "12345", "0444", 12345, 0444},
		{func(k uint32) string { return keyName(k) }, "4096", "1777", 4096, 0777}, // the kernel keeps 0777, as for ipcmk -p 1777
	} {
		key, twinKey := newKey(), newKey()
		removeShmLater(t, key)
		text := c.keyText(key) + " " + c.size
		if c.mode != "" {
			text += " " + c.mode
		}
		if e := writeControl(t, create, text+"\n"); e != 0 {
			t.Errorf("create %q: %v", text, e)
			continue
		}
		id, err := shmIDOf(key)
		if err != nil {
			t.Errorf("create %q: shmget finds nothing: %v", text, err)
			continue
		}
		twin := newSegment(t, twinKey, int(c.wantSize), int(c.wantMode))
		got, want := shmStat(t, id), shmStat(t, twin)
		if got.Segsz != c.wantSize || got.Perm.Mode != c.wantMode {
			t.Errorf("create %q: size %d mode %o, want %d %o", text, got.Segsz, got.Perm.Mode, c.wantSize, c.wantMode)
		}
		if got.Segsz != want.Segsz || got.Perm.Mode != want.Perm.Mode || got.Perm.Uid != want.Perm.Uid ||
			got.Perm.Gid != want.Perm.Gid || got.Perm.Cuid != want.Perm.Cuid || got.Perm.Cgid != want.Perm.Cgid ||
			got.Nattch != want.Nattch {
			t.Errorf("create %q: %+v; shmget directly: %+v", text, got, want)
		}
		checkStatMatches(t, m.Path("shm", keyName(key)), id)
		rmid(t, id)
	}

	// The same handle, read after the write, answers the new name.
	key := newKey()
	removeShmLater(t, key)
	out := mustSh(t, fmt.Sprintf("exec 3<>%s; echo '%#x 4096' >&3; read name <&3; echo \"$name\"", create, key))
	if out != keyName(key)+"\n" {
		t.Errorf("the answer to create: %q, want %q", out, keyName(key)+"\n")
	}
	if _, err := shmIDOf(key); err != nil {
		t.Errorf("after create with an answer: %v", err)
	}

	// A private segment answers id-N.
	out = mustSh(t, fmt.Sprintf("exec 3<>%s; echo 'private 64K 0600' >&3; read name <&3; echo \"$name\"", create))
	made := map[int]int32{}
	for id, key := range madeBy(t, m.cmd.Process.Pid) {
		if key == 0 {
			made[id] = key
			removeShmIDLater(t, id)
		}
	}
	var idp int
	if _, err := fmt.Sscanf(out, "id-%d\n", &idp); err != nil {
		t.Errorf("the answer to a private create: %q", out)
	}
	if len(made) != 1 || made[idp] != 0 {
		t.Errorf("a private create made %v; answered %q", made, out)
	} else if d := shmStat(t, idp); d.Segsz != 64<<10 || d.Perm.Mode != 0600 || d.Perm.Key != 0 {
		t.Errorf("private create: %+v", d)
	}

	// The answer, through os.File: Write then Read on one handle.
	key = newKey()
	removeShmLater(t, key)
	f, err := os.OpenFile(create, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(fmt.Sprintf("%d 100\n", key))); err != nil {
		t.Errorf("create: %v", err)
	}
	buf := make([]byte, 100)
	n, _ := f.Read(buf)
	if string(buf[:n]) != keyName(key)+"\n" {
		t.Errorf("Read after Write on create: %q", buf[:n])
	}
	f.Close()
}

// TestShmCreateErrors: a taken key is EEXIST, as shmget with IPC_EXCL
// says; bad input is EINVAL; neither makes or changes anything.
func TestShmCreateErrors(t *testing.T) {
	m := mount(t)
	create := m.Path("shm", "create")

	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	direct := syscall.Errno(0)
	if _, err := unix.SysvShmGet(int(int32(key)), 4096, unix.IPC_CREAT|unix.IPC_EXCL|0644); err != nil {
		direct = errnoOf(err)
	}
	if direct != syscall.EEXIST {
		t.Fatalf("shmget of a taken key directly: %v", direct)
	}
	stBefore := shmStat(t, id)
	for _, text := range []string{keyName(key) + " 4096", fmt.Sprintf("%d 8192 0600", key), keyName(key) + " 4096 0644"} {
		if e := writeControl(t, create, text+"\n"); e != direct {
			t.Errorf("create %q of a taken key: %v, directly %v", text, e, direct)
		}
	}
	if _, _, err := sh(t, fmt.Sprintf("echo '%s 4096' > %s", keyName(key), create)); err == nil {
		t.Error("echo of a taken key into create succeeded")
	}
	if after := shmStat(t, id); after.Perm != stBefore.Perm || after.Segsz != stBefore.Segsz || after.Ctime != stBefore.Ctime {
		t.Errorf("EEXIST changed the segment: %+v -> %+v", stBefore, after)
	}

	// What the kernel refuses (size 0) is refused the same way.
	k0 := newKey()
	_, err := unix.SysvShmGet(int(int32(k0)), 0, unix.IPC_CREAT|unix.IPC_EXCL|0644)
	if e := writeControl(t, create, keyName(k0)+" 0\n"); e != errnoOf(err) || e != syscall.EINVAL {
		t.Errorf("create of size 0: %v, directly %v", e, err)
	}

	// Bad input: EINVAL, nothing made.
	k := newKey()
	kn := keyName(k)
	for _, text := range []string{
		"\n", "   \t\n", kn + "\n", kn, // no size
		"0xZZ 4096", "0x 4096", "0x-1 4096", "0x+1 4096", "+5 4096", "0x1ffffffff 4096", "99999999999 4096", "key 4096",
		"private4096", "PRIVATE 4096",
		kn + " 4X", kn + " 4KiBB", kn + " -1", kn + " ++1", kn + " 1.5", kn + " K", kn + " 0x", kn + " 4096K4", kn + " 08",
		kn + " 99999999999999999999",
		kn + " 4096 0999", kn + " 4096 8", kn + " 4096 010000", kn + " 4096 -644", kn + " 4096 +644", kn + " 4096 rw",
		kn + " 4096 0644 extra", kn + " 4096 0644 0644",
	} {
		if e := writeControl(t, create, text); e != syscall.EINVAL {
			t.Errorf("create %q: %v, want EINVAL", text, e)
		}
	}
	if _, err := shmIDOf(k); err == nil {
		t.Errorf("a bad create made %s", kn)
		removeShmLater(t, k)
	}
	checkMadeNothing(t, m, "failed creates")
	if shmGone(id) {
		t.Errorf("failed creates removed segment %d", id)
	}
	// The shell sees the failure.
	if _, _, err := sh(t, "echo '"+kn+" 0' > "+create); err == nil {
		t.Error("echo of a bad create succeeded")
	}
	// A failed write leaves the handle answering usage, not a name.
	out := mustSh(t, fmt.Sprintf("exec 3<>%s; echo '%s 1Q' >&3 2>/dev/null; cat <&3", create, kn))
	if strings.Contains(out, "0x") && strings.HasPrefix(out, "0x") {
		t.Errorf("a failed create answered %q", out)
	}
}

// TestShmControlUsage: reading create or remove without writing shows a
// short usage text, every time.
func TestShmControlUsage(t *testing.T) {
	m := mount(t)
	for _, name := range []string{"create", "remove"} {
		p := m.Path("shm", name)
		first, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		if len(first) == 0 || !bytes.HasSuffix(first, []byte("\n")) || len(first) > 4096 {
			t.Errorf("usage of %s: %q", name, first)
		}
		if second := mustSh(t, "cat "+p); second != string(first) {
			t.Errorf("usage of %s differs between reads: %q vs %q", name, first, second)
		}
		// An O_RDWR handle with nothing written reads the same.
		if out := mustSh(t, "exec 3<>"+p+"; cat <&3"); out != string(first) {
			t.Errorf("usage of %s through O_RDWR: %q", name, out)
		}
	}
	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	mustSh(t, "cat "+m.Path("shm", "create")+" "+m.Path("shm", "remove")+" > /dev/null")
	checkMadeNothing(t, m, "reading the control files")
	if shmGone(id) {
		t.Error("reading the control files removed a segment")
	}
}

// TestShmCreateAsWriter: a segment made through create belongs to the
// writer (uid, gid, cuid, cgid), as if it had called shmget itself.
func TestShmCreateAsWriter(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	key, twinKey := newKey(), newKey()
	removeShmLater(t, key)
	removeShmLater(t, twinKey)

	if _, errs, err := asUser(t, fmt.Sprintf(`echo "%#x 4096" > %s`, key, m.Path("shm", "create"))); err != nil {
		t.Fatalf("create as uid 1000: %v %s", err, errs)
	}
	if e := runCErrno(t, true, "shmtool", "create", fmt.Sprint(twinKey), "4096", "0644"); e != 0 {
		t.Fatalf("shmget as uid 1000: %v", e)
	}
	id, err := shmIDOf(key)
	if err != nil {
		t.Fatalf("the segment made as uid 1000: %v", err)
	}
	twin, err := shmIDOf(twinKey)
	if err != nil {
		t.Fatal(err)
	}
	got, want := shmStat(t, id), shmStat(t, twin)
	p := got.Perm
	if p.Uid != 1000 || p.Gid != 1000 || p.Cuid != 1000 || p.Cgid != 1000 || p.Mode != 0644 {
		t.Errorf("made as uid 1000: uid %d gid %d cuid %d cgid %d mode %o; want 1000 1000 1000 1000 644",
			p.Uid, p.Gid, p.Cuid, p.Cgid, p.Mode)
	}
	if p.Uid != want.Perm.Uid || p.Gid != want.Perm.Gid || p.Cuid != want.Perm.Cuid || p.Cgid != want.Perm.Cgid ||
		p.Mode != want.Perm.Mode || got.Segsz != want.Segsz {
		t.Errorf("made as uid 1000 through the mount: %+v; directly: %+v", got, want)
	}
	checkStatMatches(t, m.Path("shm", keyName(key)), id)

	// The answer reaches that user too.
	key2 := newKey()
	removeShmLater(t, key2)
	out, errs, err := asUser(t, fmt.Sprintf("exec 3<>%s; echo '%d 1K 0600' >&3; read name <&3; echo \"$name\"", m.Path("shm", "create"), key2))
	if err != nil || out != keyName(key2)+"\n" {
		t.Errorf("create with an answer as uid 1000: %q %v %s", out, err, errs)
	}
	if id2, err := shmIDOf(key2); err != nil {
		t.Errorf("the second segment made as uid 1000: %v", err)
	} else if d := shmStat(t, id2); d.Perm.Cuid != 1000 || d.Perm.Mode != 0600 {
		t.Errorf("the second segment made as uid 1000: %+v", d.Perm)
	}
}

// TestShmRemoveControl: writing names to shm/remove removes each of them,
// whatever the spelling; one unknown name removes nothing.
func TestShmRemoveControl(t *testing.T) {
	m := mount(t)
	remove := m.Path("shm", "remove")

	kA, kB, kD := newKey(), newKey(), newKey()
	idA := newSegment(t, kA, 4096, 0600)
	idB := newSegment(t, kB, 4096, 0600)
	idC := privateSegment(t, 4096, 0600)
	idD := newSegment(t, kD, 4096, 0600)
	kE := newKey()
	idE := newSegment(t, kE, 4096, 0600)
	attach(t, idE, 0)
	rmid(t, idE) // attached and removed: id-N

	// An unknown name among good ones: ENOENT, and nothing removed.
	unused := newKey()
	for _, bad := range []string{keyName(unused), "id-2147483646", fmt.Sprintf("id-%d", idA+1<<20)} {
		text := fmt.Sprintf("%s %s id-%d %s\n", keyName(kA), bad, idC, keyName(kD))
		if e := writeControl(t, remove, text); e != syscall.ENOENT {
			t.Errorf("remove %q: %v, want ENOENT", text, e)
		}
		for _, id := range []int{idA, idB, idC, idD} {
			if shmGone(id) {
				t.Fatalf("remove %q removed segment %d", text, id)
			}
		}
	}
	if _, _, err := sh(t, "echo "+keyName(unused)+" > "+remove); err == nil {
		t.Error("echo of an unknown name into remove succeeded")
	}

	// A word that names nothing, among good ones: EINVAL, as a parser
	// gives, and nothing removed.
	for _, bad := range []string{"bogus", "0x", "id-", "id-x", "id-01", "id-2147483648", "private", "0x0", "0", "1x"} {
		text := fmt.Sprintf("%s %s id-%d\n", keyName(kA), bad, idC)
		if e := writeControl(t, remove, text); e != syscall.EINVAL {
			t.Errorf("remove %q: %v, want EINVAL", text, e)
		}
		if shmGone(idA) || shmGone(idC) {
			t.Fatalf("remove %q removed a segment", text)
		}
	}

	// Several at once, each spelled its own way, one twice, over lines
	// and tabs.
	text := fmt.Sprintf("%s\t0X%X\n id-%d  id-%d\nid-%d %s\n", keyName(kA), kB, idC, idD, idE, keyName(kA))
	if e := writeControl(t, remove, text); e != 0 {
		t.Fatalf("remove %q: %v", text, e)
	}
	for _, id := range []int{idA, idB, idC, idD} {
		if !shmGone(id) {
			t.Errorf("segment %d still exists after remove", id)
		}
	}
	// The attached one stays until the test detaches it, marked.
	if d := shmStat(t, idE); d.Perm.Mode&01000 == 0 {
		t.Errorf("removed attached segment: mode %o", d.Perm.Mode)
	}

	// The same through the shell, with a short spelling of a key.
	kF := newKey()
	idF := newSegment(t, kF, 4096, 0600)
	mustSh(t, fmt.Sprintf("echo 0x000%x > %s", kF, remove))
	if !shmGone(idF) {
		t.Error("echo NAME > remove left the segment")
	}

	// Nothing to remove.
	for _, text := range []string{"\n", "  \t \n"} {
		if e := writeControl(t, remove, text); e != syscall.EINVAL {
			t.Errorf("remove %q: %v, want EINVAL", text, e)
		}
	}
}

// TestShmReadOnly: with --ro or -o ro, reads work, every change fails
// with EROFS, and nothing changes.
func TestShmReadOnly(t *testing.T) {
	for _, flags := range [][]string{{"--ro"}, {"-o", "ro"}} {
		t.Run(strings.Join(flags, ""), func(t *testing.T) {
			m := mount(t, flags...)
			key := newKey()
			const size = 2*4096 + 5
			id := newSegment(t, key, size, 0640)
			runC(t, "shmtool", "pattern", strconv.Itoa(id), "11")
			want := patternBytes(size, 11)
			p := m.Path("shm", keyName(key))
			before := shmStat(t, id)

			if got := mustSh(t, "cat "+p); got != string(want) {
				t.Errorf("cat on a read-only mount: differs at %d", firstDiff([]byte(got), want))
			}
			checkStatMatches(t, p, id)
			if _, err := os.ReadFile(m.Path("shm", "create")); err != nil {
				t.Errorf("reading create's usage: %v", err)
			}
			// cat's release reaches the daemon after cat exits.
			shmPollUntil(t, "the daemon unmaps cat's attachment", func() bool { return len(daemonMapsOf(t, m.cmd.Process.Pid, id)) == 0 })
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			if maps := daemonMapsOf(t, m.cmd.Process.Pid, id); len(maps) != 1 || maps[0] != "r--s" {
				t.Errorf("daemon maps %v on a read-only mount, want [r--s]", maps)
			}
			f.Close()

			errs := map[string]error{}
			_, errs["open O_WRONLY"] = syscall.Open(p, syscall.O_WRONLY, 0)
			_, errs["open O_RDWR"] = syscall.Open(p, syscall.O_RDWR, 0)
			_, errs["open O_TRUNC"] = syscall.Open(p, syscall.O_WRONLY|syscall.O_TRUNC, 0)
			errs["truncate"] = syscall.Truncate(p, 0)
			errs["chmod"] = syscall.Chmod(p, 0666)
			errs["chown"] = syscall.Chown(p, 1000, 1000)
			errs["unlink"] = syscall.Unlink(p)
			_, errs["open create O_WRONLY"] = syscall.Open(m.Path("shm", "create"), syscall.O_WRONLY, 0)
			_, errs["open remove O_WRONLY"] = syscall.Open(m.Path("shm", "remove"), syscall.O_WRONLY, 0)
			_, errs["create a file"] = syscall.Open(m.Path("shm", keyName(newKey())), syscall.O_CREAT|syscall.O_WRONLY, 0644)
			for what, err := range errs {
				if errnoOf(err) != syscall.EROFS {
					t.Errorf("%s on a read-only mount: %v, want EROFS", what, err)
				}
			}
			k2 := newKey()
			removeShmLater(t, k2)
			for _, script := range []string{
				"echo hello > " + p,
				"printf x | dd of=" + p + " conv=notrunc status=none",
				"truncate -s 0 " + p,
				"chmod 0600 " + p,
				"chown 1000 " + p,
				"rm -f " + p,
				fmt.Sprintf("echo '%#x 4096' > %s", k2, m.Path("shm", "create")),
				"echo " + keyName(key) + " > " + m.Path("shm", "remove"),
			} {
				if _, _, err := sh(t, script); err == nil {
					t.Errorf("%q succeeded on a read-only mount", script)
				}
			}

			after := shmStat(t, id)
			if after.Perm != before.Perm || after.Segsz != before.Segsz || after.Ctime != before.Ctime {
				t.Errorf("the read-only mount changed the segment: %+v -> %+v", before, after)
			}
			if got := segmentBytes(t, id); !bytes.Equal(got, want) {
				t.Errorf("the read-only mount changed the bytes at %d", firstDiff(got, want))
			}
			checkMadeNothing(t, m, "the read-only mount")
			if _, err := shmIDOf(k2); !errors.Is(err, unix.ENOENT) {
				t.Errorf("a create on a read-only mount made %s", keyName(k2))
			}
		})
	}
}

// TestShmCreateSizeAsIpcmk: create reads SIZE as ipcmk -M does, checked
// against ipcmk itself: the same segment size, or both refuse. (Only
// fractions ipcmk computes exactly: it can come out a byte lower, as for
// 2.25KiB, 2303.)
func TestShmCreateSizeAsIpcmk(t *testing.T) {
	m := mount(t)
	create := m.Path("shm", "create")
	idRe := regexp.MustCompile(`id: (\d+)`)
	for _, size := range []string{
		"1", "4096", "010", "0x1000", "0X1f", "1K", "1k", "1KiB", "1KB", "1kB", "2M", "1MB", "1MiB", "1G",
		"1.5K", "0.5MB", "0.5M", "0x10K", "010K", "1.5", "1Ki", "1KIB", "1Kb", "1Kib", "08", "0x", "K", "1.K", ".5K",
		"1e3", "1KK", " 1", "-1", "+1",
	} {
		out, errs, err := sh(t, "ipcmk -M "+shQuote(size)+" -p 0600")
		want := -1 // ipcmk refuses
		if err == nil {
			sm := idRe.FindStringSubmatch(out)
			if sm == nil {
				t.Fatalf("ipcmk -M %q: %q", size, out)
			}
			id, _ := strconv.Atoi(sm[1])
			want = int(shmStat(t, id).Segsz)
			rmid(t, id)
		} else if !strings.Contains(errs, "failed to parse size") && !strings.Contains(errs, "size") {
			t.Logf("ipcmk -M %q: %s", size, errs)
		}
		key := newKey()
		removeShmLater(t, key)
		got := -1
		if e := writeControl(t, create, fmt.Sprintf("%s %s 0600\n", keyName(key), size)); e == 0 {
			id, err := shmIDOf(key)
			if err != nil {
				t.Fatal(err)
			}
			got = int(shmStat(t, id).Segsz)
		} else if e != syscall.EINVAL {
			t.Errorf("create with size %q: %v, want success or EINVAL", size, e)
		}
		if got != want {
			t.Errorf("size %q: create makes %d bytes, ipcmk -M %d (-1: refused)", size, got, want)
		}
	}
}

// TestCreateRacingRemover: a create whose object another process removes
// at once still succeeded, as shmget, semget and msgget say: each write
// to create ends in success or EEXIST (the remover not yet done with the
// last one), never in the error of a look at an object already gone.
func TestCreateRacingRemover(t *testing.T) {
	m := mount(t)
	for _, kind := range []string{"shm", "sem", "msg"} {
		t.Run(kind, func(t *testing.T) {
			key := newKey()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { // the remover
				defer close(done)
				for {
					select {
					case <-stop:
						return
					default:
					}
					if id, err := permGet(kind, key); err == nil {
						permRemoveID(kind, id)
					}
				}
			}()
			defer func() {
				close(stop)
				<-done
				if id, err := permGet(kind, key); err == nil {
					permRemoveID(kind, id)
				}
			}()
			text := map[string]string{"shm": " 4096", "sem": " 1", "msg": ""}[kind]
			bad := map[syscall.Errno]int{}
			for i := 0; i < 2000; i++ {
				if e := writeControl(t, m.Path(kind, "create"), keyName(key)+text); e != 0 && e != syscall.EEXIST {
					bad[e]++
				}
			}
			if len(bad) != 0 {
				t.Errorf("creates of %s racing a remover: errors %v of 2000, want only success or EEXIST", kind, bad)
			}
		})
	}
}
