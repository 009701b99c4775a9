package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// config is what the command line asks for.
type config struct {
	mountpoint string
	allowOther bool
	readOnly   bool
	debug      bool
	version    bool
	ipcNS      string // --ipc-ns: show the objects of this IPC namespace
	// noXattr (-o nouser_xattr) turns the user.ipc.* attributes off, and
	// with them the kernel's getxattr at every O_TRUNC (see mountOptions).
	noXattr    bool
	foreground bool // -f: stay in the foreground even as a mount helper
	// helper is set when called as mount(8) calls a helper, with a source
	// before the mountpoint: then ipcfs goes to the background once mounted.
	helper bool
	// generic are mount(8)'s own options given with -o, in order (see
	// genericOptions).
	generic []string
}

// mountFlags is the mount(2) flags for the generic options given, beside
// the nosuid and nodev every ipcfs mount has, and noexec unless -o exec
// lifts it.
func (c *config) mountFlags() uintptr {
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	for _, o := range c.generic {
		flags = flags&^genericOptions[o].clear | genericOptions[o].set
	}
	return flags
}

const usage = `Usage: ipcfs [flags] MOUNTPOINT
       ipcfs SOURCE MOUNTPOINT -o OPTIONS   (as mount.fuse3 calls it)

Shows the host's System V IPC objects (shared memory, semaphores, message
queues) as files under MOUNTPOINT. Runs in the foreground until unmounted
or sent SIGINT, SIGTERM or SIGHUP. In the second form it goes to the
background once mounted, unless given -f (or -o debug).

Flags:
  --allow-other   let other users in (each is checked as the kernel would;
                  root's daemon only)
  --ro            read-only: no writes, semop, msgsnd/msgrcv, create, remove
  --debug         log every FUSE request to stderr
  --ipc-ns PATH   show another IPC namespace (a container's): /proc/PID/ns/ipc
  -f              stay in the foreground in the second form
  -o OPT[,OPT]    the same as mount options: allow_other, ro, debug,
                  ipc_ns=PATH, nouser_xattr (no user.ipc.* attributes,
                  and one request less for each open with O_TRUNC, as
                  a shell's echo > FILE), and mount(8)'s exec, sync...
                  (every mount is nosuid, nodev and, unless -o exec,
                  noexec)
  --version       print the version and exit
  --help          print this help and exit
`

// genericOptions are mount(8)'s own options, which the kernel applies to
// any mount: as root they become mount(2) flags, otherwise fusermount3
// gets them by name. (ro also makes the daemon refuse changes itself.)
//
// noexec is the default: the kernel lets any reader of a file map it
// executable (mmap checks only the mount, not the file's x bits), where
// shmat(SHM_EXEC) needs execute permission on the segment.
var genericOptions = map[string]struct{ set, clear uintptr }{
	"ro":          {unix.MS_RDONLY, 0},
	"rw":          {0, unix.MS_RDONLY},
	"noexec":      {unix.MS_NOEXEC, 0},
	"exec":        {0, unix.MS_NOEXEC},
	"noatime":     {unix.MS_NOATIME, unix.MS_RELATIME | unix.MS_STRICTATIME},
	"atime":       {0, unix.MS_NOATIME},
	"nodiratime":  {unix.MS_NODIRATIME, 0},
	"diratime":    {0, unix.MS_NODIRATIME},
	"relatime":    {unix.MS_RELATIME, unix.MS_NOATIME | unix.MS_STRICTATIME},
	"norelatime":  {0, unix.MS_RELATIME},
	"strictatime": {unix.MS_STRICTATIME, unix.MS_NOATIME | unix.MS_RELATIME},
	"sync":        {unix.MS_SYNCHRONOUS, 0},
	"async":       {0, unix.MS_SYNCHRONOUS},
	"dirsync":     {unix.MS_DIRSYNC, 0},
}

// ignoredOptions are options mount(8) passes on that change nothing here:
// ipcfs always mounts nosuid and nodev (none of its files is set-id or a
// device).
var ignoredOptions = map[string]bool{
	"dev": true, "nodev": true, "suid": true, "nosuid": true,
	"defaults": true, "auto": true, "noauto": true, "user": true,
	"nouser": true, "users": true, "_netdev": true, "nofail": true,
	"default_permissions": true,
}

// parseArgs reads the command line. Flags may come before or after the
// positional arguments, as mount.fuse3 puts -o last. It prints nothing:
// the caller says what went wrong (flag.ErrHelp for --help) once.
func parseArgs(args []string) (*config, error) {
	c := &config{}
	fl := flag.NewFlagSet("ipcfs", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	fl.Usage = func() {}
	fl.BoolVar(&c.allowOther, "allow-other", false, "")
	fl.BoolFunc("ro", "", func(v string) error {
		ro, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		if ro {
			return c.setOptions("ro")
		}
		return c.setOptions("rw")
	})
	fl.BoolVar(&c.debug, "debug", false, "")
	fl.BoolVar(&c.version, "version", false, "")
	fl.BoolVar(&c.foreground, "f", false, "")
	fl.Func("ipc-ns", "", c.setIPCNS)
	fl.Func("o", "", c.setOptions)

	var pos []string
	for len(args) > 0 {
		if err := fl.Parse(args); err != nil {
			if n := len(args) - len(fl.Args()); n > 0 {
				err = spelledAsGiven(err, args[n-1])
			}
			return nil, err
		}
		rest := fl.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...) // all arguments from here on
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if c.version {
		return c, nil
	}
	switch len(pos) {
	case 1:
		c.mountpoint = pos[0]
	case 2:
		// debug keeps it in the foreground too, as libfuse's daemons do:
		// in the background its log would go to /dev/null.
		c.mountpoint, c.helper = pos[1], !c.foreground && !c.debug
	default:
		return nil, errors.New("expected one MOUNTPOINT")
	}
	if c.mountpoint == "" {
		// An unset variable, most likely: a path lookup of "" would take
		// the working directory. mount(8) refuses it too.
		return nil, errors.New("empty MOUNTPOINT")
	}
	return c, nil
}

// setIPCNS takes --ipc-ns or ipc_ns=: an empty path (an unset variable)
// is refused, not taken to mean the daemon's own namespace.
func (c *config) setIPCNS(path string) error {
	if path == "" {
		return errors.New("empty IPC namespace path")
	}
	c.ipcNS = path
	return nil
}

// spelledAsGiven names the flag in err as arg spelled it (`--bogus`),
// where the flag package always writes one dash.
func spelledAsGiven(err error, arg string) error {
	spelled, _, _ := strings.Cut(arg, "=")
	name := "-" + strings.TrimLeft(spelled, "-")
	if spelled == name || !strings.Contains(err.Error(), " "+name) {
		return err // flag.ErrHelp among them, which must stay itself
	}
	return errors.New(strings.Replace(err.Error(), " "+name, " "+spelled, 1))
}

func (c *config) setOptions(list string) error {
	for _, o := range strings.Split(list, ",") {
		switch {
		case o == "allow_other":
			c.allowOther = true
		case o == "debug":
			c.debug = true
		case o == "nouser_xattr", o == "user_xattr":
			c.noXattr = o == "nouser_xattr"
		case strings.HasPrefix(o, "ipc_ns="):
			if err := c.setIPCNS(o[len("ipc_ns="):]); err != nil {
				return err
			}
		case o == "remount":
			return errors.New("-o remount: not supported (unmount, and mount again)")
		case o == "" || ignoredOptions[o]:
		default:
			if _, ok := genericOptions[o]; !ok {
				return fmt.Errorf("unknown option %q", o)
			}
			c.generic = append(c.generic, o)
			// The last of ro and rw counts, as for mount(8).
			c.readOnly = o == "ro" || c.readOnly && o != "rw"
		}
	}
	return nil
}
