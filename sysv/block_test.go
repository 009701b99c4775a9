package sysv

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// takeAllSlots fills every wait slot until the test ends, as maxWaiting
// callers already waiting would.
func takeAllSlots(t *testing.T) {
	slots := waitSlots()
	for range cap(slots) {
		slots <- struct{}{}
	}
	t.Cleanup(func() {
		for range cap(slots) {
			<-slots
		}
	})
}

// TestBlockPastTheBound: with every slot taken, a waiting semop, msgrcv
// and msgsnd still end as the syscall would: done once possible, EAGAIN
// when the timeout runs out, EINTR when interrupted, the object untouched.
// (They waited for a slot, whatever happened meanwhile.)
func TestBlockPastTheBound(t *testing.T) {
	takeAllSlots(t)
	id := newSemSet(t, 1, 0600)

	if err := Semop(bg, nil, id, []SemOp{{Num: 0, Op: -1}}, 50*time.Millisecond); err != unix.EAGAIN {
		t.Errorf("semop with a timeout: %v, want EAGAIN", err)
	}

	done := make(chan error, 1)
	go func() { done <- Semop(bg, nil, id, []SemOp{{Num: 0, Op: -1}}, 0) }()
	if err := SemSetVal(id, 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, "semop", done); err != nil {
		t.Errorf("semop released by SETVAL: %v", err)
	}
	mustVal(t, id, 0, 0)

	ctx, cancel := context.WithCancel(bg)
	go func() { done <- Semop(ctx, nil, id, []SemOp{{Num: 0, Op: -1}}, 0) }()
	time.Sleep(30 * time.Millisecond) // let it try at least once
	cancel()
	if err := wait(t, "semop", done); err != unix.EINTR {
		t.Errorf("interrupted semop: %v, want EINTR", err)
	}
	mustVal(t, id, 0, 0)

	q := newQueue(t, 0600)
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 64)
		_, n, err := MsgReceive(bg, nil, q, 0, buf, false)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(buf[:n])
	}()
	send(t, q, 1, "hello")
	select {
	case s := <-got:
		if s != "hello" {
			t.Errorf("msgrcv released by a message: %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("msgrcv still waiting 10 s after a message came")
	}

	if err := MsgSetQbytes(q, 5); err != nil {
		t.Fatal(err)
	}
	send(t, q, 1, "12345")
	go func() { done <- MsgSend(bg, nil, q, 1, []byte("x"), false) }()
	if _, s := recv(t, q, 0); s != "12345" {
		t.Fatalf("recv: %q", s)
	}
	if err := wait(t, "msgsnd", done); err != nil {
		t.Errorf("msgsnd released by room: %v", err)
	}

	send(t, q, 1, "1234") // full again, with the "x"
	go func() { done <- MsgSend(bg, nil, q, 1, []byte("y"), false) }()
	time.Sleep(30 * time.Millisecond)
	if err := MsgRemove(q); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, "msgsnd", done); err != unix.EIDRM {
		t.Errorf("msgsnd on a queue removed meanwhile: %v, want EIDRM", err)
	}
}
