package integration

import (
	"fmt"
	"strconv"
	"syscall"
	"testing"
)

// TestStopRepliesToWokenWaiters: a SIGTERM that comes right after
// writers waiting through the mount were woken (the kernel makes a woken
// waiter's semop inside the waker's own semop, and hands a waiting
// reader its message inside msgsnd) still tells each caller what
// happened: every unit or message taken is a call that succeeded, and
// every call that failed took nothing. Several rounds, as the window is
// short.
func TestStopRepliesToWokenWaiters(t *testing.T) {
	const n = 30
	for round := range 3 {
		t.Run(fmt.Sprintf("sem-%d", round), func(t *testing.T) {
			m := mount(t)
			k := newKey()
			id := semNew(t, k, 1, 0600)
			w := semTool(t, "waiters", strconv.Itoa(n), m.Path("sem", keyName(k), "0"), "-1")
			if l := w.line(t); l != fmt.Sprintf("forked %d", n) {
				t.Fatalf("semtool waiters: %q", l)
			}
			semWaitCounts(t, id, 0, n, 0)
			semMustOp(t, id, semBuf{Num: 0, Op: n})
			if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var ok, failed int
			l := w.line(t)
			if _, err := fmt.Sscanf(l, "ok %d failed %d", &ok, &failed); err != nil {
				t.Fatalf("semtool waiters: %q", l)
			}
			if taken := n - semVal(t, id, 0); ok != taken || ok+failed != n {
				t.Errorf("%d writes succeeded and %d failed, but %d units were taken", ok, failed, taken)
			}
			if err := waitExit(t, m); err != nil {
				t.Errorf("ipcfs exited with %v\n%s", err, m.Log())
			}
		})
		t.Run(fmt.Sprintf("msg-%d", round), func(t *testing.T) {
			m := mount(t)
			k := newKey()
			id := msgNewQueue(t, k, 0600)
			var readers []*msgProc
			for range n {
				readers = append(readers, msgStart(t, nil, "msgtool", "read", m.Path("msg", keyName(k)), "64"))
			}
			msgWaitDaemonWaiters(t, m, id, n, 0)
			for i := range n {
				msgSend(t, id, 1, []byte(strconv.Itoa(i)))
			}
			if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			ok := 0
			for _, r := range readers {
				if _, err := r.wait(t); err == nil {
					ok++
				}
			}
			if taken := n - int(msgStat(t, id).Qnum); ok != taken {
				t.Errorf("%d reads succeeded, but %d messages were taken", ok, taken)
			}
			if err := waitExit(t, m); err != nil {
				t.Errorf("ipcfs exited with %v\n%s", err, m.Log())
			}
		})
	}
}
