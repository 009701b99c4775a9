package fs

import (
	"strconv"
	"strings"
	"syscall"

	"github.com/ipcfs/ipcfs/sysv"
)

// objectName is the name ls shows: the key as ipcs prints it, or id-N
// for an object keyed IPC_PRIVATE (made private, or removed while
// attached, which makes the kernel reset its key).
func objectName(key sysv.Key, id int) string {
	if key == sysv.Private {
		return "id-" + strconv.Itoa(id)
	}
	return key.String()
}

// objectRef is what a name in a kind's folder refers to: an id, or a key.
type objectRef struct {
	byID bool
	id   int
	key  sysv.Key
}

// parseObjectName reads "id-N", or a key spelled in hex with a 0x prefix
// in any case and with any number of digits. Anything else is ENOENT:
// such a name can never exist.
func parseObjectName(name string) (objectRef, syscall.Errno) {
	if rest, ok := strings.CutPrefix(name, "id-"); ok {
		id, err := strconv.ParseUint(rest, 10, 31)
		if err != nil || strconv.FormatUint(id, 10) != rest {
			return objectRef{}, syscall.ENOENT
		}
		return objectRef{byID: true, id: int(id)}, 0
	}
	if len(name) < 3 || (name[:2] != "0x" && name[:2] != "0X") {
		return objectRef{}, syscall.ENOENT
	}
	key, err := sysv.ParseKey(name)
	if err != nil || key == sysv.Private {
		return objectRef{}, syscall.ENOENT
	}
	return objectRef{key: key}, 0
}
