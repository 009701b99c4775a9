package integration

import (
	"bufio"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestStatusCommandNewline: a segment made by a process whose argv holds
// a newline (and a tab and a backslash) has exactly one row in
// shm/status, which awk splits into the header's columns followed by the
// words of the command, the control characters shown as \xHH; the text
// after the newline, spelled as a row, forges none.
func TestStatusCommandNewline(t *testing.T) {
	perl, err := exec.LookPath("perl")
	if err != nil {
		t.Skip("no perl:", err)
	}
	m := mount(t)
	key := newKey()
	removeShmLater(t, key)

	const forgedKey = "0xdeadbeef"
	forged := "evil\n" + forgedKey + " 1 root root root root 600 4096 0 - 1 1 - - - - sleep"
	// shmget(KEY, 4096, IPC_CREAT|IPC_EXCL|0600), print the id, hold on
	// until stdin closes.
	code := `my $id = shmget($ARGV[0], 4096, 03600); defined $id or die "shmget: $!\n"; $| = 1; print "$id\n"; <STDIN>;`
	argv := []string{"perl", "-e", code, strconv.FormatUint(uint64(key), 10), forged, "tab\there", `back\slash`}
	cmd := &exec.Cmd{Path: perl, Args: argv, SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
	}()
	var id int
	select {
	case s := <-line:
		if id, err = strconv.Atoi(strings.TrimSpace(s)); err != nil {
			t.Fatalf("perl printed %q: %s", s, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("perl printed no id: %s", stderr.String())
	}
	removeShmIDLater(t, id)
	var d unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d); err != nil || int(d.Cpid) != cmd.Process.Pid {
		t.Fatalf("segment %d: cpid %d, want perl's %d (%v)", id, d.Cpid, cmd.Process.Pid, err)
	}

	status := m.Path("shm", "status")
	// The header: 17 columns, the command last.
	header := strings.Fields(mustSh(t, fmt.Sprintf("head -n 1 %q", status)))
	if len(header) != 17 || header[1] != "shmid" || header[10] != "cpid" || header[16] != "command" {
		t.Fatalf("header %q", header)
	}
	wantCommand := strings.NewReplacer("\n", `\x0a`, "\t", `\x09`, `\`, `\x5c`).Replace(strings.Join(argv, " "))
	wantNF := len(header) - 1 + len(strings.Fields(wantCommand))

	rows := mustSh(t, fmt.Sprintf(`awk -v id=%d 'NR > 1 && $2 == id { s = $17; for (i = 18; i <= NF; i++) s = s " " $i; print NF "|" $11 "|" s }' %q`, id, status))
	got := strings.Split(strings.TrimSuffix(rows, "\n"), "\n")
	if len(got) != 1 || rows == "" {
		t.Fatalf("%d rows for shmid %d, want 1: %q\n%s", len(got), id, rows, mustSh(t, "cat "+status))
	}
	want := fmt.Sprintf("%d|%d|%s", wantNF, cmd.Process.Pid, wantCommand)
	if got[0] != want {
		t.Errorf("row of shmid %d: NF|cpid|command\n got %q\nwant %q", id, got[0], want)
	}

	// Nothing forged: every row starts with a key or id-N and has every
	// column, and no row has the key written after the newline.
	if bad := mustSh(t, fmt.Sprintf(`awk 'NR > 1 && (NF < 17 || $1 !~ /^(0x[0-9a-f]+|id-[0-9]+)$/ || $1 == %q || $2 !~ /^[0-9]+$/)' %q`, forgedKey, status)); bad != "" {
		t.Errorf("rows that are no segment's:\n%s", bad)
	}
}

// TestSemCreateNsemsDecimal: NSEMS is a decimal count, as ipcmk -S
// reads it: 010 makes ten semaphores, 08 eight; 0x2 stays EINVAL and
// makes nothing.
func TestSemCreateNsemsDecimal(t *testing.T) {
	m := mount(t)
	create := m.Path("sem", "create")
	for _, c := range []struct {
		nsems string
		want  int
		errno syscall.Errno
	}{
		{"010", 10, 0},
		{"08", 8, 0},
		{"0003 0600", 3, 0},
		{"0x2", 0, syscall.EINVAL},
		{"2K", 0, syscall.EINVAL},
	} {
		key := newKey()
		semRemoveKeyLater(t, key)
		text := fmt.Sprintf("%#x %s", key, c.nsems)
		if e := writeControl(t, create, text+"\n"); e != c.errno {
			t.Errorf("create %q: %v, want %v", text, e, c.errno)
		}
		id, e := semIDOf(key)
		switch {
		case c.errno != 0 && e == 0:
			t.Errorf("create %q made a set", text)
		case c.errno == 0 && e != 0:
			t.Errorf("create %q: semget finds nothing: %v", text, e)
		case c.errno == 0:
			if n := semStat(t, id).Nsems; int(n) != c.want {
				t.Errorf("create %q: %d semaphores, want %d", text, n, c.want)
			}
		}
	}

	// The same as ipcmk -S on this machine.
	if _, err := exec.LookPath("ipcmk"); err == nil {
		out := mustSh(t, "ipcmk -S 010 -p 0600")
		var id int
		if _, err := fmt.Sscanf(strings.TrimSpace(out), "Semaphore id: %d", &id); err != nil {
			t.Fatalf("ipcmk: %q", out)
		}
		semRemoveIDLater(t, id)
		if n := semStat(t, id).Nsems; n != 10 {
			t.Errorf("ipcmk -S 010 made %d semaphores; ipcfs makes 10", n)
		}
	}
}
