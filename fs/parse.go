package fs

import (
	"math/bits"
	"strconv"
	"strings"
	"syscall"

	"github.com/ipcfs/ipcfs/sysv"
)

// parseSize reads a byte count as ipcmk does (util-linux's strtosize): a
// number in decimal, 0x hex or 0 octal, then, if a suffix follows, a
// decimal fraction, and a suffix K, M, G, T, P or E for powers of 1024
// (also KiB, MiB...) or KB, MB... for powers of 1000 (and Z, Y, which no
// size reaches). So 8K, 8KiB and 8192 are the same, 1KB is 1000, 1.5K is
// 1536, 0x1000 is 4096 and 010 is 8. A fraction counts exactly (rounded
// down to a byte), where ipcmk may come out a byte lower.
func parseSize(s string) (uint64, syscall.Errno) {
	s = strings.TrimPrefix(s, "+") // as strtoumax takes it
	base, digits := 10, "0123456789"
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") && isAny(s[2], hexDigits):
		base, digits, s = 16, hexDigits, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, "01234567"
	}
	end := prefixOf(s, digits)
	if end == 0 {
		return 0, syscall.EINVAL
	}
	n, err := strconv.ParseUint(s[:end], base, 64)
	if err != nil {
		return 0, syscall.EINVAL
	}
	s = s[end:]
	frac := ""
	if strings.HasPrefix(s, ".") {
		end := 1 + prefixOf(s[1:], "0123456789")
		frac, s = s[1:end], s[end:]
	}
	if s == "" {
		if frac != "" {
			return 0, syscall.EINVAL
		}
		return n, checkSize(n)
	}
	power := strings.IndexByte("KMGTPEZY", s[0]&^0x20) + 1
	unit := uint64(1024)
	switch s[1:] {
	case "", "iB", "ib":
	case "B", "b":
		unit = 1000
	default:
		power = 0
	}
	if power == 0 {
		return 0, syscall.EINVAL
	}
	mult := uint64(1)
	for range power {
		hi, lo := bits.Mul64(mult, unit)
		if hi != 0 {
			return 0, syscall.EINVAL
		}
		mult = lo
	}
	hi, total := bits.Mul64(n, mult)
	if hi != 0 {
		return 0, syscall.EINVAL
	}
	if frac = frac[:min(len(frac), 18)]; frac != "" {
		f, _ := strconv.ParseUint(frac, 10, 64)
		den := uint64(1)
		for range frac {
			den *= 10
		}
		fhi, flo := bits.Mul64(f, mult)
		part, _ := bits.Div64(fhi, flo, den) // f < den, so the quotient is below mult
		var carry uint64
		if total, carry = bits.Add64(total, part, 0); carry != 0 {
			return 0, syscall.EINVAL
		}
	}
	return total, checkSize(total)
}

const hexDigits = "0123456789abcdefABCDEF"

// prefixOf is the length of the longest prefix of s made of bytes of set.
func prefixOf(s, set string) int {
	i := 0
	for i < len(s) && isAny(s[i], set) {
		i++
	}
	return i
}

func isAny(c byte, set string) bool { return strings.IndexByte(set, c) >= 0 }

// checkSize refuses what no size_t the kernel takes can be.
func checkSize(n uint64) syscall.Errno {
	if n > 1<<63-1 {
		return syscall.EINVAL
	}
	return 0
}

// parseMode reads a mode in octal (0644 or 644), at most 07777 as chmod
// spells it, and keeps its permission bits: the kernel keeps no others of
// an IPC object's mode (ipcmk -p 1777 makes mode 0777).
func parseMode(s string) (uint32, syscall.Errno) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, syscall.EINVAL
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 07777 {
		return 0, syscall.EINVAL
	}
	return uint32(m) & 0777, 0
}

// defaultMode is what create uses without a MODE, as ipcmk does.
const defaultMode = 0644

// createArgs is a parsed write to a `create` file.
type createArgs struct {
	key  sysv.Key
	n    uint64 // SIZE for shm, NSEMS for sem; none for msg
	mode uint32
}

// parseCount reads a plain decimal count as ipcmk -S does (util-linux's
// strtos32_or_err, base 10): leading zeros are decimal, not octal, and
// 0x hex, a sign or a suffix do not parse. At most 2^31-1.
func parseCount(s string) (uint64, syscall.Errno) {
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, syscall.EINVAL
	}
	return n, 0
}

// parseCreate reads "KEY [N] [MODE]", N read by parseN (shm's SIZE by
// parseSize, sem's NSEMS by parseCount); nil for none (msg).
func parseCreate(w []string, parseN func(string) (uint64, syscall.Errno)) (createArgs, syscall.Errno) {
	need := 1
	if parseN != nil {
		need = 2
	}
	if len(w) < need || len(w) > need+1 {
		return createArgs{}, syscall.EINVAL
	}
	key, err := sysv.ParseKey(w[0])
	if err != nil {
		return createArgs{}, syscall.EINVAL
	}
	a := createArgs{key: key, mode: defaultMode}
	var errno syscall.Errno
	if parseN != nil {
		if a.n, errno = parseN(w[1]); errno != 0 {
			return createArgs{}, errno
		}
	}
	if len(w) == need+1 {
		if a.mode, errno = parseMode(w[need]); errno != 0 {
			return createArgs{}, errno
		}
	}
	return a, 0
}

// asciiFields splits a write to a control or semaphore file into its words
// at ASCII white space only (space, \t, \n, \v, \f, \r), as the shell
// splits the arguments of ipcmk and ipcrm. Any other byte, such as those
// of a no-break space (U+00A0, C2 A0), is part of a word, which then
// fails to parse, where strings.Fields would split there.
func asciiFields(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			return true
		}
		return false
	})
}
