package sysv

import (
	"bytes"
	"os"
	"strconv"
)

// dying reports whether c's calling thread is being killed: a fatal
// signal puts SIGKILL in every thread's pending set (SigPnd in
// /proc/TID/status) until the process has gone; a thread already gone
// is dying too. An unknown caller (pid 0) is not.
func (c *Cred) dying() bool {
	if c == nil || c.Pid == 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(c.Pid), 10) + "/status")
	if err != nil {
		return os.IsNotExist(err)
	}
	_, rest, ok := bytes.Cut(b, []byte("\nSigPnd:"))
	if !ok {
		return false
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	pending, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 64)
	return err == nil && pending&(1<<(9-1)) != 0 // SIGKILL is 9
}
