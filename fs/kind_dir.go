package fs

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// kindDir is shm/, sem/ or msg/: the objects of one kind, listed afresh
// from the kernel on every readdir and looked up afresh on every lookup,
// beside the kind's control files (create, remove, status).
type kindDir struct {
	fs.Inode
	fixedNames // readOnly: a read-only mount
	kind       kind
	controls   map[string]*fs.Inode
}

var (
	_ fs.NodeLookuper       = (*kindDir)(nil)
	_ fs.NodeOpendirHandler = (*kindDir)(nil)
	_ fs.NodeUnlinker       = (*kindDir)(nil)
	_ fs.NodeRmdirer        = (*kindDir)(nil)
	_ fs.NodeCreater        = (*kindDir)(nil)
	_ fs.NodeGetattrer      = (*kindDir)(nil)
	_ fs.NodeSetattrer      = (*kindDir)(nil)
)

// Getattr: a fixed folder; sem/'s link count follows its sets (see
// folderKind), read afresh at each stat.
func (d *kindDir) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	nlink := uint32(2)
	if f, ok := d.kind.(folderKind); ok {
		n, err := f.count()
		if err != nil {
			return toErrno(err)
		}
		nlink += uint32(n)
	}
	fixedAttr(out, fuse.S_IFDIR|0755, nlink)
	out.SetTimeout(d.attrTimeout())
	return 0
}

// attrTimeout is how long the kernel may keep the folder's attributes:
// not at all for sem/, whose link count changes with its sets.
func (d *kindDir) attrTimeout() time.Duration {
	if _, ok := d.kind.(folderKind); ok {
		return objectAttrTimeout
	}
	return fixedTimeout
}

func (d *kindDir) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return fixedSetattr(ctx, d, fh, in, out)
}

func (d *kindDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if c := d.controls[name]; c != nil {
		return entry(ctx, c, out, fixedTimeout, fixedTimeout), 0
	}
	if base, suffix, ok := strings.Cut(name, ":"); ok {
		return d.lookupAlias(ctx, base, suffix, out)
	}
	o, errno := d.find(name)
	if errno != 0 {
		return nil, errno
	}
	return d.child(ctx, name, &o, out, objectAttrTimeout), 0
}

// lookupAlias finds NAME:SUFFIX, for kinds that have such names.
func (d *kindDir) lookupAlias(ctx context.Context, base, suffix string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	a, ok := d.kind.(aliaser)
	if !ok {
		return nil, syscall.ENOENT
	}
	o, errno := d.find(base)
	if errno != 0 {
		return nil, errno
	}
	ops, ino, errno := a.alias(&o, suffix)
	if errno != 0 {
		return nil, errno
	}
	child := d.NewInode(ctx, ops, fs.StableAttr{Mode: syscall.S_IFREG, Ino: ino, Gen: d.gen(&o, ino)})
	return entry(ctx, child, out, d.entryTimeout(), objectAttrTimeout), 0
}

// find resolves a name (as listed, id-N, or a key spelled any way) to the
// object it names now.
func (d *kindDir) find(name string) (object, syscall.Errno) {
	ref, errno := parseObjectName(name)
	if errno != 0 {
		return object{}, errno
	}
	id := ref.id
	if !ref.byID {
		var err error
		if id, err = d.kind.idOf(ref.key); err != nil {
			return object{}, goneErrno(err)
		}
	}
	o, err := d.kind.stat(id)
	if err != nil {
		return object{}, goneErrno(err)
	}
	return o, 0
}

// findKey resolves a key in any spelling create takes (decimal too),
// for remove: file names stay hex, as listed.
func (d *kindDir) findKey(s string) (object, syscall.Errno) {
	key, err := sysv.ParseKey(s)
	if err != nil || key == sysv.Private {
		return object{}, syscall.ENOENT
	}
	id, err := d.kind.idOf(key)
	if err != nil {
		return object{}, goneErrno(err)
	}
	o, err := d.kind.stat(id)
	if err != nil {
		return object{}, goneErrno(err)
	}
	return o, 0
}

// child returns the inode of o, found under name, reusing the one the
// kernel already knows for the same object, and fills the entry for the
// kernel with the attributes given their lifetime.
func (d *kindDir) child(ctx context.Context, name string, o *object, out *fuse.EntryOut, attrTTL time.Duration) *fs.Inode {
	out.Attr = o.attr
	out.NodeId = 0
	out.SetEntryTimeout(d.entryTimeout())
	out.SetAttrTimeout(attrTTL)
	id := fs.StableAttr{Mode: o.attr.Mode & syscall.S_IFMT, Ino: o.attr.Ino, Gen: d.gen(o, o.attr.Ino)}
	return childNode(ctx, &d.Inode, name, id, func() fs.InodeEmbedder { return d.kind.node(o) })
}

// perOpen reports whether the kind needs an inode per open.
func (d *kindDir) perOpen() bool {
	_, ok := d.kind.(inodePerOpener)
	return ok
}

// gen is the generation of inode ino of an object: for kinds that need
// an inode per open, one no other open is using (see openSlots);
// otherwise one per object and key, so that a segment whose key is
// cleared (removed while attached) gets a new inode, which its old
// name's does not reach.
func (d *kindDir) gen(o *object, ino uint64) uint64 {
	if k, ok := d.kind.(inodePerOpener); ok {
		return k.openSlots().lookup(ino)
	}
	return uint64(uint32(o.key)) + 1
}

// entryTimeout is how long the kernel may keep an object's entry: never
// for kinds with an inode per open, which needs a lookup per open.
func (d *kindDir) entryTimeout() time.Duration {
	if d.perOpen() {
		return 0
	}
	return objectEntryTimeout
}

// remove is rm and rmdir of an object: IPC_RMID as the caller.
func (d *kindDir) remove(ctx context.Context, name string, wantDir bool) syscall.Errno {
	if d.controls[name] != nil {
		return syscall.EPERM
	}
	o, errno := d.find(name)
	if errno != 0 {
		return errno
	}
	if isDir := o.attr.Mode&syscall.S_IFMT == syscall.S_IFDIR; isDir != wantDir {
		if isDir {
			return syscall.EISDIR
		}
		return syscall.ENOTDIR
	}
	if d.readOnly {
		return syscall.EROFS
	}
	return toErrno(d.kind.remove(callerCred(ctx), o.id))
}

func (d *kindDir) Unlink(ctx context.Context, name string) syscall.Errno {
	return d.remove(ctx, name, false)
}

func (d *kindDir) Rmdir(ctx context.Context, name string) syscall.Errno {
	return d.remove(ctx, name, true)
}

// Create is refused: an object needs a size or a count that a file
// creation cannot carry. The `create` control file makes objects.
func (d *kindDir) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, d.refused()
}

func (d *kindDir) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	objs, err := d.kind.list()
	if err != nil {
		return nil, 0, toErrno(err)
	}
	h := &kindDirHandle{dir: d, objects: make(map[string]*object, len(objs))}
	for _, name := range controlNames {
		if c := d.controls[name]; c != nil {
			h.entries = append(h.entries, fuse.DirEntry{Name: name, Mode: c.Mode(), Ino: c.StableAttr().Ino})
		}
	}
	h.addObjects(objs)
	for i := range h.entries {
		h.entries[i].Off = uint64(i + 1)
	}
	return h, 0, 0
}

// addObjects lists objs, read in the kernel's index order. A key removed
// and made again during that pass can be met twice, its old object at
// one index and then the new one at a later index; a name is listed once,
// as the one met last.
func (h *kindDirHandle) addObjects(objs []object) {
	at := make(map[string]int, len(objs))
	for i := range objs {
		o := &objs[i]
		name := o.name()
		e := fuse.DirEntry{Name: name, Mode: o.attr.Mode & syscall.S_IFMT, Ino: o.attr.Ino}
		h.objects[name] = o
		if j, ok := at[name]; ok {
			h.entries[j] = e
			continue
		}
		at[name] = len(h.entries)
		h.entries = append(h.entries, e)
	}
}

var controlNames = []string{"create", "remove", "status"}

// kindDirHandle is one listing: a snapshot of the kernel's objects taken
// at opendir, which also answers the lookups of READDIRPLUS, so `ls -l`
// costs one pass over the kernel, not one per object. The attributes it
// hands out are cached only for the lister's own stat calls, which ls
// makes between two reads of the directory: at the next read (or the
// close), they are dropped, so a stat after the listing asks again.
type kindDirHandle struct {
	dir     *kindDir
	entries []fuse.DirEntry
	objects map[string]*object
	pos     int

	mu         sync.Mutex
	batch      context.Context // the READDIRPLUS request being answered
	listed     []string        // names whose attributes the kernel holds
	forgetting sync.WaitGroup  // batches being dropped from the cache
}

var (
	_ fs.FileReaddirenter = (*kindDirHandle)(nil)
	_ fs.FileLookuper     = (*kindDirHandle)(nil)
	_ fs.FileSeekdirer    = (*kindDirHandle)(nil)
	_ fs.FileReleasedirer = (*kindDirHandle)(nil)
)

func (h *kindDirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	h.newBatch(ctx)
	if h.pos >= len(h.entries) {
		h.forgetting.Wait() // the end: nothing handed out stays cached
		return nil, 0
	}
	h.pos++
	return &h.entries[h.pos-1], 0
}

// newBatch notes the request being answered; a new one means the lister
// has done with the attributes of the last, which are dropped while this
// one is answered.
func (h *kindDirHandle) newBatch(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.batch == ctx {
		return
	}
	h.batch = ctx
	names := h.listed
	if len(names) == 0 {
		return
	}
	h.listed = nil
	h.forgetting.Add(1)
	go func() {
		defer h.forgetting.Done()
		h.forget(names)
	}()
}

// forget drops the attributes of names from the kernel's cache. This
// takes no lock in the kernel, so it is safe while a request is answered.
func (h *kindDirHandle) forget(names []string) {
	for _, name := range names {
		// The node go-fuse kept for the name, which may be an older one
		// than the lookup made.
		if n := h.dir.GetChild(name); n != nil {
			n.NotifyContent(-1, 0)
		}
	}
}

func (h *kindDirHandle) Releasedir(ctx context.Context, flags uint32) {
	h.mu.Lock()
	names := h.listed
	h.listed = nil
	h.mu.Unlock()
	h.forget(names)
	h.forgetting.Wait()
}

func (h *kindDirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	h.pos = int(min(off, uint64(len(h.entries))))
	return 0
}

func (h *kindDirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	o := h.objects[name]
	if o == nil {
		return h.dir.Lookup(ctx, name, out)
	}
	if h.dir.perOpen() {
		return nameOnly()
	}
	h.mu.Lock()
	h.listed = append(h.listed, name)
	h.mu.Unlock()
	return h.dir.child(ctx, name, o, out, listedAttrTimeout), 0
}
