package fs

import (
	"context"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
)

// openSlots decides which inode a lookup of a file that takes waiting
// writes gets (see freshGen): the one the kernel already has for the name,
// when nothing can be using it, or else a new one.
//
// Such entries are never cached, so the kernel asks at every open (a
// lookup to revalidate its dentry). Answering with a new inode every time
// made every open cost two lookups: the kernel drops a dentry whose lookup
// names another inode, and looks the name up again. Answering with the
// same inode is safe exactly when no other walk of the path holds it: each
// inode is claimed by the lookup that hands it out, and freed again only
// when every open made of it is released. A lookup that finds the inode
// claimed or open gets a new one, so the kernel's revalidation fails and
// the walk gets an inode of its own; a claim never followed by an open
// (a stat, a listing) just leaves the next lookup to make a new inode.
type openSlots struct {
	mu    sync.Mutex
	slots map[uint64]*openSlot // by inode number
}

// openSlot is the state of the inode most recently handed out for a number.
type openSlot struct {
	gen     uint64
	claimed bool // handed out by a lookup, and not yet released
	opens   int  // handles open on it
}

// lookup returns the generation for a lookup of inode number ino, and
// claims that inode for the lookup.
func (s *openSlots) lookup(ino uint64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.slots[ino]; sl != nil && !sl.claimed && sl.opens == 0 {
		sl.claimed = true
		return sl.gen
	}
	if s.slots == nil {
		s.slots = make(map[uint64]*openSlot)
	}
	gen := freshGen()
	s.slots[ino] = &openSlot{gen: gen, claimed: true}
	return gen
}

// opened records an open of inode (ino, gen); it returns the release to
// call when the handle is released.
func (s *openSlots) opened(ino, gen uint64) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.slots[ino]
	if sl == nil || sl.gen != gen {
		return func() {} // an inode no lookup will hand out again
	}
	sl.opens++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if sl.opens--; sl.opens == 0 {
			sl.claimed = false
		}
	}
}

// statted frees inode (ino, gen) of its lookup's claim when the kernel
// asks for its attributes while nothing has it open: that walk was a
// stat, as an open's walk asks for none between its lookup and its open.
// The next walk's lookup may then hand the same inode out again, and the
// kernel keeps its entry, where a new inode made it drop the entry and
// look the name up a second time (a stat: two lookups and a getattr,
// now one and one).
func (s *openSlots) statted(ino, gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.slots[ino]; sl != nil && sl.gen == gen && sl.opens == 0 {
		sl.claimed = false
	}
}

// forgotten drops the slot of inode (ino, gen) once the kernel has
// forgotten it, so slots last only as long as the kernel's inodes.
func (s *openSlots) forgotten(ino, gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.slots[ino]; sl != nil && sl.gen == gen {
		delete(s.slots, ino)
	}
}

// slotHandle is embedded in the handles of such files: releasing the
// handle frees its inode for the next lookup.
type slotHandle struct{ release func() }

func (h slotHandle) Release(ctx context.Context) syscall.Errno {
	h.release()
	return 0
}

// nameOnly is a listing's lookup (READDIRPLUS) of a file whose inode is
// one per open: no inode, and go-fuse then sends the name alone (node id
// 0), which the kernel lists without making an entry for it. An inode
// handed out with the listing would be dropped at the next use of the
// name, which then costs two lookups (the kernel's check of its entry
// finds another inode, and it looks again), and a listing of thousands
// would make thousands of inodes for nothing.
func nameOnly() (*fs.Inode, syscall.Errno) { return nil, syscall.ENOENT }
