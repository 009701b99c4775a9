// Command ipcfs mounts the host's System V IPC objects as a file system.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	ipcfs "github.com/ipcfs/ipcfs/fs"
	"golang.org/x/sys/unix"
)

const version = "0.1.0"

func main() {
	// What the daemon says of itself later (sysv's undo records) reads as
	// its other messages do.
	log.SetFlags(0)
	log.SetPrefix("ipcfs: ")
	c, err := parseArgs(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Print(usage)
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ipcfs: %v\nTry 'ipcfs --help' for more information.\n", err)
		os.Exit(2)
	}
	if c.version {
		fmt.Println("ipcfs", version)
		return
	}
	if c.helper {
		os.Exit(runInBackground())
	}
	oneProc()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "ipcfs:", err)
		os.Exit(1)
	}
}

func run(c *config) error {
	if c.allowOther && os.Geteuid() != 0 {
		return errNotRootAllowOther
	}
	// Caught from the start: a signal that comes while the mount is being
	// made must not kill the daemon with the mount up and nobody serving
	// it (a dead mount), but unmount it and exit 0 like any other. SIGHUP
	// too: the terminal of a foreground daemon closed. But SIGINT and
	// SIGHUP ignored from the start stay ignored: `nohup ipcfs`, or a
	// script's background job, asked for that.
	sig := make(chan os.Signal, 1)
	stops := []os.Signal{syscall.SIGTERM}
	for _, s := range []os.Signal{syscall.SIGINT, syscall.SIGHUP} {
		if !signal.Ignored(s) {
			stops = append(stops, s)
		}
	}
	signal.Notify(sig, stops...)
	// A closed pipe on stderr (`ipcfs --debug ... | head`) must not kill
	// the daemon and leave its mount dead: its writes fail with EPIPE
	// instead. Caught rather than ignored, which programs it runs
	// (fusermount3) would inherit.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	if c.ipcNS != "" {
		if err := enterIPCNamespace(c.ipcNS); err != nil {
			return err
		}
	}
	// The directory itself, however it was spelled: a symlink to a
	// served mountpoint must find its lock, and the unmount at a signal
	// must not follow a link repointed meanwhile, nor depend on the
	// working directory.
	if dir, err := filepath.Abs(c.mountpoint); err == nil {
		c.mountpoint = dir
	}
	if dir, err := filepath.EvalSymlinks(c.mountpoint); err == nil {
		c.mountpoint = dir
	}
	if os.Getenv(readyFdEnv) != "" {
		// In the background, as daemons do: holding mount(8)'s working
		// directory would keep its file system from being unmounted.
		if err := os.Chdir("/"); err != nil {
			return err
		}
	}
	undoFile, release, err := undoPath(c.mountpoint)
	if err != nil {
		return err
	}
	defer release()
	if err := prepareMountpoint(c.mountpoint); err != nil {
		return err
	}
	root, err := ipcfs.NewRoot(ipcfs.Options{ReadOnly: c.readOnly, UndoFile: undoFile})
	if err != nil {
		return fmt.Errorf("undo records %s: %w", undoFile, err)
	}
	select {
	case <-sig:
		return nil // asked to stop before anything was mounted
	default:
	}
	server, err := mount(c.mountpoint, root, mountOptions(c))
	if err != nil {
		return fmt.Errorf("mount %s: %w", c.mountpoint, err)
	}
	// Which mount is ours, for the signal; not known (a kernel before
	// 5.8), the signal unmounts what is there, as before.
	ours, oursErr := mountID(c.mountpoint)
	notifyReady()
	go returnIdleMemory()

	go func() {
		<-sig
		// Detached (umount -l) with files still open, it is nowhere to
		// unmount: those callers are answered, and the daemon exits.
		gone := oursErr == nil && detached(ours)
		if id, err := mountID(c.mountpoint); oursErr == nil && (err != nil || id != ours) && !gone {
			// Unmounting goes by path, and so to the mount on top: another
			// file system mounted over this one (or another daemon's
			// mount, in another IPC namespace) would go instead. Leave
			// it; this mount ends with the daemon, and can be unmounted
			// once uncovered.
			fmt.Fprintf(os.Stderr, "ipcfs: %s: another mount covers this one; leaving both mounted (this one stops serving)\n", c.mountpoint)
			quiesce(root)
			release()
			os.Exit(1)
		}
		clean := !gone && unmount(c.mountpoint)
		// Callers still in the file system (a lazy unmount, or a copy of
		// the mount elsewhere) end before the exit cuts them off: those
		// waiting with EINTR, having taken nothing, and those whose
		// operation the kernel has just made with its result.
		quiesce(root)
		if clean {
			// A copy of the mount in another mount namespace (a service's
			// private /tmp) or a bind mount keeps the connection, and so
			// the serve loop, alive after the unmount here: the signal
			// ends the daemon all the same (and the copies with it:
			// ENOTCONN there). Otherwise the unmount has ended the
			// connection, the loop ends within milliseconds, and run
			// returns first; either way ends alike.
			time.Sleep(250 * time.Millisecond)
		}
		release()
		os.Exit(0)
	}()
	server.Wait()
	return nil
}

// quiesce lets the operations under way reply, for up to 2 s, and says
// so in the log if some did not (their callers get ECONNABORTED).
func quiesce(root *ipcfs.Root) {
	if !root.Quiesce(2 * time.Second) {
		log.Print("operations still under way after 2 s are cut off")
	}
}

// errNotRootAllowOther refuses allow_other to an ordinary user's daemon.
// Only root can take on each caller's identity for the syscalls (see
// sysv.Cred); a daemon that cannot would carry out every other user's
// requests with its own rights, lending them its user's objects.
var errNotRootAllowOther = errors.New("allow_other needs the daemon to run as root: an ordinary user's daemon cannot act as another user, and would lend every other user its own rights over the objects")

// mountID is the id of the mount on top at dir (as in
// /proc/self/mountinfo), read without asking any file system: the
// daemon must not wait on its own mount.
func mountID(dir string) (uint64, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, dir, unix.AT_STATX_DONT_SYNC|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &st); err != nil {
		return 0, err
	}
	if st.Mask&unix.STATX_MNT_ID == 0 {
		return 0, errors.New("the kernel does not tell mounts apart (statx STATX_MNT_ID)")
	}
	return st.Mnt_id, nil
}

// detached reports whether the mount of this id is gone from the mount
// table: unmounted lazily while files of it are still open, which keep
// the daemon serving them.
func detached(id uint64) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	want := strconv.FormatUint(id, 10) + " "
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, want) {
			return false
		}
	}
	return true
}

// mount serves root at mountpoint through ipcfs's guarded file system
// (see ipcfs.NewRawFS). The mount is in place when NewServer returns, and
// the kernel holds callers until the serve loop has answered its INIT.
// Unlike go-fuse's fs.Mount, the daemon does not wait on its own mount
// (WaitMount opens a file there, a statfs would do as well): a daemon
// killed while its own request is in flight hangs for good in its exit,
// unkillable, waiting on itself, and the mount stays dead.
func mount(mountpoint string, root *ipcfs.Root, opts *fs.Options) (*fuse.Server, error) {
	server, err := fuse.NewServer(ipcfs.NewRawFS(root, opts), mountpoint, &opts.MountOptions)
	if err != nil {
		return nil, fusermountFailed(err)
	}
	go server.Serve()
	return server, nil
}

// fusermountFailed rewords go-fuse's "fusermount exited with code 256"
// (a raw wait status, with a newline): fusermount3 has printed its
// reason on stderr already, just above. (go-fuse runs fusermount3, or
// fusermount where only that is installed.)
func fusermountFailed(err error) error {
	var code int
	if _, scanErr := fmt.Sscanf(err.Error(), "fusermount exited with code %d", &code); scanErr != nil {
		return err
	}
	return fmt.Errorf("fusermount failed (exit status %d; its reason is above)", syscall.WaitStatus(code).ExitStatus())
}

func mountOptions(c *config) *fs.Options {
	o := &fs.Options{
		// A segment of mode 0 shows as mode 0, not go-fuse's default 0644.
		NullPermissions: true,
	}
	o.MountOptions = fuse.MountOptions{
		AllowOther: c.allowOther,
		Debug:      c.debug,
		FsName:     "ipcfs",
		Name:       "ipcfs",
		// 1 MiB requests: the most the kernel sends at once.
		MaxWrite: fuse.MAX_KERNEL_WRITE,
		// Replies are written, not spliced: a 1 MiB reply and its header
		// do not fit the largest pipe, and every attempt would fail (and
		// log) before falling back.
		DisableSplice: true,
		// O_TRUNC arrives with the open instead of as a separate setattr;
		// and no object has set-id bits or capabilities to strip on a
		// write, so the kernel need not ask (a getxattr and a getattr
		// before every `echo >`).
		ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC | fuse.CAP_HANDLE_KILLPRIV_V2,
		// Even so the kernel asks for security.capability at every open
		// with O_TRUNC (FUSE files are never marked as having none to
		// drop), unless one getxattr is answered ENOSYS: then it asks no
		// more, for any attribute. nouser_xattr gives up user.ipc.* for
		// that request.
		DisableXAttrs: c.noXattr,
	}
	if os.Geteuid() == 0 {
		// As root, mount(2) directly; otherwise through fusermount3.
		o.DirectMountStrict = true
		o.DirectMountFlags = c.mountFlags()
	} else {
		o.Options = append(append(o.Options, "noexec"), c.generic...) // see mountFlags
	}
	if c.debug {
		o.Logger = log.New(os.Stderr, "ipcfs: ", log.Lmicroseconds)
	}
	return o
}

// prepareMountpoint creates a missing mountpoint and clears a dead mount
// left by a daemon that crashed ("transport endpoint is not connected").
func prepareMountpoint(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil && deadMount(dir) {
		err = syscall.ENOTCONN
	}
	if errors.Is(err, syscall.ENOTCONN) {
		if err := detach(dir); err != nil {
			return fmt.Errorf("clearing the dead mount on %s: %w", dir, err)
		}
		fi, err = os.Stat(dir)
	}
	if errors.Is(err, os.ErrNotExist) {
		if target, lerr := os.Readlink(dir); lerr == nil {
			// mkdir would say "file exists" of the link itself.
			return fmt.Errorf("%s: a symbolic link to %s, which does not exist", dir, target)
		}
		return os.MkdirAll(dir, 0755)
	}
	if err == nil && !fi.IsDir() {
		// mount(2) would mount on a file, but the root is a directory:
		// the mount would come up dead.
		return fmt.Errorf("%s: %w", dir, syscall.ENOTDIR)
	}
	return err
}

// deadMount reports whether dir is the root of a FUSE mount whose daemon
// is gone. stat(2) cannot tell: the kernel answers it from the root's
// cached attributes (kept for an hour) without asking the daemon, where
// statfs(2) always asks, and fails with ENOTCONN when nobody is there.
func deadMount(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == unix.ENOTCONN
}

// detach lazily unmounts dir: mounted files still open stay usable until
// closed, and the mountpoint is free at once.
func detach(dir string) error {
	if os.Geteuid() == 0 {
		return unix.Unmount(dir, unix.MNT_DETACH)
	}
	return runFusermount("-u", "-z", dir)
}

// unmount ends the mount on a signal: a clean unmount when nothing is
// busy, after which the server's loop ends (true); otherwise a lazy one
// (false), after which the daemon exits at once: closing /dev/fuse fails
// whatever callers still wait in the file system (a semop or msgrcv they
// wait in takes nothing).
func unmount(dir string) (clean bool) {
	var err error
	if os.Geteuid() == 0 {
		err = unix.Unmount(dir, 0)
	} else {
		err = runFusermount("-u", "-q", dir)
	}
	if err == nil {
		return true
	}
	if err := detach(dir); err != nil {
		fmt.Fprintln(os.Stderr, "ipcfs: unmount:", err)
	}
	return false
}
