package fs

import "testing"

func TestOpenSlots(t *testing.T) {
	var s openSlots
	const ino = 42
	g1 := s.lookup(ino)
	if g := s.lookup(ino); g == g1 {
		t.Fatal("a second lookup got the inode the first one claimed")
	}
	g2 := s.lookup(ino) // claimed by this lookup, which opens it twice
	r1 := s.opened(ino, g2)
	r2 := s.opened(ino, g2)
	if g := s.lookup(ino); g == g2 {
		t.Fatal("a lookup got an inode with open handles")
	}
	g3 := s.lookup(ino)
	r3 := s.opened(ino, g3)
	r1()
	r2() // g2 is no longer the current inode: releasing it changes nothing
	if g := s.lookup(ino); g == g2 || g == g3 {
		t.Fatalf("a lookup got %d, an inode open or replaced", g)
	}
	g4 := s.lookup(ino)
	s.opened(ino, g4)()
	if g := s.lookup(ino); g != g4 {
		t.Fatalf("after its last release, a lookup got %d, not the free inode %d", g, g4)
	}
	r3()
	s.opened(ino, 999)() // an inode it never handed out
	s.forgotten(ino, g4)
	if g := s.lookup(ino); g == g4 {
		t.Fatal("a lookup got an inode the kernel forgot")
	}
	if len(s.slots) != 1 {
		t.Fatalf("%d slots for one inode number", len(s.slots))
	}
}

// TestOpenSlotsStatted: a getattr with no open frees the lookup's claim,
// so the next lookup gets the same inode; one while the inode is open, or
// of an inode replaced since, changes nothing.
func TestOpenSlotsStatted(t *testing.T) {
	var s openSlots
	const ino = 7
	g1 := s.lookup(ino)
	s.statted(ino, g1)
	if g := s.lookup(ino); g != g1 {
		t.Fatalf("after a stat, a lookup got %d, not the stat's inode %d", g, g1)
	}
	release := s.opened(ino, g1)
	s.statted(ino, g1) // an fstat of the open
	if g := s.lookup(ino); g == g1 {
		t.Fatal("a lookup got an inode with an open handle, after its fstat")
	}
	release()
	g2 := s.lookup(ino)
	g3 := s.lookup(ino) // g2 claimed: a new one
	s.statted(ino, g2)  // g2 is no longer the current inode
	if g := s.lookup(ino); g == g2 || g == g3 {
		t.Fatalf("a lookup got %d, an inode claimed or replaced", g)
	}
}
