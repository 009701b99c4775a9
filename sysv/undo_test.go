package sysv

import (
	"testing"
	"time"
)

// TestSettleWaitsForApplying: Settle returns only once adjustments that
// another goroutine (a process's watcher) has taken out of the records
// are applied, so that a read right after sees them, as after exit_sem.
func TestSettleWaitsForApplying(t *testing.T) {
	id := newSemSet(t, 1, 0600)
	u, err := OpenUndo("")
	if err != nil {
		t.Fatal(err)
	}
	adj := map[semRef]int{{id, 0}: 3}
	u.mu.Lock()
	u.countApplying(adj, 1) // taken out, as takeIfDone does
	u.mu.Unlock()

	settled := make(chan struct{})
	go func() {
		u.Settle(id)
		close(settled)
	}()
	select {
	case <-settled:
		t.Fatal("Settle returned while an adjustment was still to be applied")
	case <-time.After(100 * time.Millisecond): // time for a wrong Settle to return
	}
	u.apply(adj)
	<-settled
	if v, err := SemGetVal(id, 0); v != 3 || err != nil {
		t.Errorf("after the adjustment: %d %v, want 3", v, err)
	}
	// Another set's Settle does not wait for this one's.
	u.mu.Lock()
	u.countApplying(adj, 1)
	u.mu.Unlock()
	u.Settle(newSemSet(t, 1, 0600))
	u.apply(adj)
	if len(u.applying) != 0 {
		t.Errorf("counts left: %v", u.applying)
	}
}
