package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// config is what the command line asks for.
type config struct {
	mountpoint string
	allowOther bool
	readOnly   bool
	debug      bool
	version    bool
	ipcNS      string // --ipc-ns: show the objects of this IPC namespace
	foreground bool   // -f: stay in the foreground even as a mount helper
	// helper is set when called as mount(8) calls a helper, with a source
	// before the mountpoint: then ipcfs goes to the background once mounted.
	helper bool
}

const usage = `Usage: ipcfs [flags] MOUNTPOINT
       ipcfs SOURCE MOUNTPOINT -o OPTIONS   (as mount.fuse3 calls it)

Shows the host's System V IPC objects (shared memory, semaphores, message
queues) as files under MOUNTPOINT. Runs in the foreground until unmounted
or sent SIGINT/SIGTERM.

Flags:
  --allow-other   let other users in (each is checked as the kernel would)
  --ro            read-only: no writes, semop, msgsnd/msgrcv, create, remove
  --debug         log every FUSE request to stderr
  --ipc-ns PATH   show another IPC namespace (a container's): /proc/PID/ns/ipc
  -o OPT[,OPT]    the same as mount options: allow_other, ro, debug, ipc_ns=PATH
  --version       print the version and exit
  --help          print this help and exit
`

// mountOptions that mount(8) passes on and that need no action here.
var ignoredOptions = map[string]bool{
	"rw": true, "dev": true, "nodev": true, "suid": true, "nosuid": true,
	"exec": true, "noexec": true, "atime": true, "noatime": true,
	"relatime": true, "norelatime": true, "strictatime": true, "async": true,
	"sync": true, "defaults": true, "auto": true, "noauto": true, "user": true,
	"nouser": true, "users": true, "_netdev": true, "nofail": true,
	"default_permissions": true,
}

// parseArgs reads the command line. Flags may come before or after the
// positional arguments, as mount.fuse3 puts -o last.
func parseArgs(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fl := flag.NewFlagSet("ipcfs", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, usage) }
	fl.BoolVar(&c.allowOther, "allow-other", false, "")
	fl.BoolVar(&c.readOnly, "ro", false, "")
	fl.BoolVar(&c.debug, "debug", false, "")
	fl.BoolVar(&c.version, "version", false, "")
	fl.BoolVar(&c.foreground, "f", false, "")
	fl.StringVar(&c.ipcNS, "ipc-ns", "", "")
	fl.Func("o", "", c.setOptions)

	var pos []string
	for {
		if err := fl.Parse(args); err != nil {
			return nil, err
		}
		args = fl.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if c.version {
		return c, nil
	}
	switch len(pos) {
	case 1:
		c.mountpoint = pos[0]
	case 2:
		c.mountpoint, c.helper = pos[1], !c.foreground
	default:
		fl.Usage()
		return nil, errors.New("expected one MOUNTPOINT")
	}
	return c, nil
}

func (c *config) setOptions(list string) error {
	for _, o := range strings.Split(list, ",") {
		switch {
		case o == "allow_other":
			c.allowOther = true
		case o == "ro":
			c.readOnly = true
		case o == "debug":
			c.debug = true
		case strings.HasPrefix(o, "ipc_ns="):
			c.ipcNS = o[len("ipc_ns="):]
		case o == "" || ignoredOptions[o]:
		default:
			return fmt.Errorf("unknown option %q", o)
		}
	}
	return nil
}
