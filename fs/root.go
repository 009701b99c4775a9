package fs

import (
	"context"
	"slices"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// Options are what the file system itself needs to know of the mount.
type Options struct {
	// ReadOnly refuses every change (data, semop, msgsnd/msgrcv, create,
	// remove, chmod, chown) with EROFS; reading still works.
	ReadOnly bool
	// UndoFile keeps the semop undo records made for callers, so that a
	// daemon started again applies them when those callers exit. "" keeps
	// them in memory only.
	UndoFile string
}

// Root is the top of the mount: shm/, sem/, msg/ and the views.
type Root struct {
	fs.Inode
	fixedNames
	opts Options
	undo *sysv.Undo // semop undo records kept for the callers' processes
	// passthrough: read-only opens of segments are served by the kernel
	// from the segment's own file, where it takes backing files from us.
	passthrough passthrough
}

// NewRoot returns the root node of an ipcfs mount. It takes over the undo
// records a previous daemon left in opts.UndoFile.
func NewRoot(opts Options) (*Root, error) {
	undo, err := sysv.OpenUndo(opts.UndoFile)
	if err != nil {
		return nil, err
	}
	return &Root{fixedNames: fixedNames{opts.ReadOnly}, opts: opts, undo: undo}, nil
}

var (
	_ fs.NodeOnAdder   = (*Root)(nil)
	_ fs.NodeGetattrer = (*Root)(nil)
	_ fs.NodeLookuper  = (*Root)(nil)
	_ fs.NodeUnlinker  = (*Root)(nil)
	_ fs.NodeRmdirer   = (*Root)(nil)
	_ fs.NodeSetattrer = (*Root)(nil)
	_ fs.NodeCreater   = (*Root)(nil)
)

func (r *Root) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return fixedSetattr(ctx, r, fh, in, out)
}

// Create, Unlink and Rmdir refuse: the top level is fixed. (A node without them
// would have go-fuse answer success and drop the entry, for every caller,
// until the daemon restarts.)
func (r *Root) Unlink(ctx context.Context, name string) syscall.Errno { return syscall.EPERM }
func (r *Root) Rmdir(ctx context.Context, name string) syscall.Errno  { return syscall.EPERM }

// Create is EPERM, as in a kind's folder (go-fuse's answer is EROFS); see
// fixedNames.
func (r *Root) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, r.refused()
}

// Lookup finds the fixed children, whose entries never go stale.
func (r *Root) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	c := r.GetChild(name)
	if c == nil {
		return nil, syscall.ENOENT
	}
	attrTTL := fixedTimeout
	if d, ok := c.Operations().(*kindDir); ok {
		attrTTL = d.attrTimeout()
	}
	return entry(ctx, c, out, fixedTimeout, attrTTL), 0
}

func (r *Root) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	fixedAttr(out, fuse.S_IFDIR|0755, 2+3) // shm/, sem/ and msg/ link to it
	return 0
}

func (r *Root) OnAdd(ctx context.Context) {
	ro := r.opts.ReadOnly
	r.addKind(ctx, "shm", inoShmDir, shmKind{readOnly: ro, passthrough: &r.passthrough}, [3]uint64{inoShmCreate, inoShmRemove, inoShmStatus})
	r.addKind(ctx, "sem", inoSemDir, semKind{readOnly: ro, undo: r.undo}, [3]uint64{inoSemCreate, inoSemRemove, inoSemStatus})
	r.addKind(ctx, "msg", inoMsgDir, msgKind{readOnly: ro, files: &openSlots{}}, [3]uint64{inoMsgCreate, inoMsgRemove, inoMsgStatus})
	r.AddChild("limits", r.NewPersistentInode(ctx, &textFile{render: sameForAll(renderLimits)}, fs.StableAttr{Ino: inoLimits}), false)
	r.AddChild("usage", r.NewPersistentInode(ctx, &textFile{render: sameForAll(renderUsage)}, fs.StableAttr{Ino: inoUsage}), false)
}

// addKind adds the folder of one kind with its control files.
func (r *Root) addKind(ctx context.Context, name string, ino uint64, k kind, ctl [3]uint64) {
	d := &kindDir{fixedNames: fixedNames{r.opts.ReadOnly}, kind: k, controls: map[string]*fs.Inode{}}
	dir := r.NewPersistentInode(ctx, d, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino})
	r.AddChild(name, dir, false)

	create := &controlFile{usage: k.createUsage(), readOnly: r.opts.ReadOnly,
		do: func(cred *sysv.Cred, w []string) (string, error) {
			name, err := k.create(cred, w)
			if err != nil {
				return "", err
			}
			return name + "\n", nil
		}}
	remove := &controlFile{usage: removeUsage, readOnly: r.opts.ReadOnly,
		do: func(cred *sysv.Cred, w []string) (string, error) { return "", d.removeAll(cred, w) }}
	status := &textFile{render: k.status}
	d.controls["create"] = d.NewPersistentInode(ctx, create, fs.StableAttr{Mode: syscall.S_IFREG, Ino: ctl[0]})
	d.controls["remove"] = d.NewPersistentInode(ctx, remove, fs.StableAttr{Mode: syscall.S_IFREG, Ino: ctl[1]})
	d.controls["status"] = d.NewPersistentInode(ctx, status, fs.StableAttr{Mode: syscall.S_IFREG, Ino: ctl[2]})
}

const removeUsage = `Write names to remove those objects (IPC_RMID), as the writer:
names as listed, keys spelled any way (0x162e), or id-N, separated by white
space. If any name is unknown, nothing is removed (ENOENT); if one is no
name at all, neither (EINVAL).
Example: echo 0x00001234 id-32769 > remove
`

// removeAll resolves every name first, so that an unknown one removes
// nothing, then removes each; the first failure is returned. A word that
// is no name at all is bad input (EINVAL), also removing nothing.
func (d *kindDir) removeAll(cred *sysv.Cred, names []string) error {
	for _, name := range names {
		if !isName(name) {
			return syscall.EINVAL
		}
	}
	ids := make([]int, 0, len(names))
	for _, name := range names {
		o, errno := d.find(name)
		if errno == syscall.ENOENT {
			o, errno = d.findKey(name) // a key spelled as create takes it
		}
		if errno != 0 {
			return errno
		}
		if !slices.Contains(ids, o.id) { // two names for one object
			ids = append(ids, o.id)
		}
	}
	var first error
	for _, id := range ids {
		if err := d.kind.remove(cred, id); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// isName reports whether a word written to remove can name an object:
// a name as listed (0x..., id-N), or a key spelled as create takes it,
// but not key 0 (IPC_PRIVATE), which names no one object.
func isName(word string) bool {
	if _, errno := parseObjectName(word); errno == 0 {
		return true
	}
	key, err := sysv.ParseKey(word)
	return err == nil && key != sysv.Private
}
