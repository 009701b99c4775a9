package sysv

import (
	"bytes"
	"errors"
	"os"
	"strconv"
)

// dying reports whether c's calling thread is being killed: a fatal
// signal puts SIGKILL in every thread's pending set (SigPnd) until the
// process has gone; a thread already gone is dying too. An unknown
// caller (pid 0) is not.
func (c *Cred) dying() bool {
	if c == nil || c.Pid == 0 {
		return false
	}
	line, err := statusField(c.Pid, "SigPnd")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	pending, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 64)
	return err == nil && pending&(1<<(9-1)) != 0 // SIGKILL is 9
}
