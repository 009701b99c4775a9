package sysv

import "golang.org/x/sys/unix"

// idxMasks take an object's slot index out of its id: the low 15 bits,
// or 24 on a kernel booted with ipcmni_extend.
var idxMasks = [...]int{1<<15 - 1, 1<<24 - 1}

// statAny is the *_STAT_ANY of the object id, for a stat that IPC_STAT
// refused (EACCES). IPC_STAT needs read permission; STAT_ANY, which
// ipcs and /proc/sysvipc use, does not. A daemon that is not root, or
// one without CAP_IPC_OWNER, would otherwise not find the objects it
// lists, its user's own among them when their mode lacks read. STAT_ANY
// takes the id's slot index, and returns the id in that slot, which says
// whether the slot still holds this object: if no slot does, it has been
// removed since, and IPC_STAT would now say EINVAL.
func statAny(id int, stat func(idx int) (int, error)) error {
	for _, m := range idxMasks {
		if got, err := stat(id & m); err == nil && got == id {
			return nil
		}
	}
	return unix.EINVAL
}
