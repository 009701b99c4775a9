package fs

import (
	"math"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ipcfs/ipcfs/sysv"
)

// semCommand is one parsed write to a semaphore file or to semop.
type semCommand struct {
	ops     []sysv.SemOp
	setVal  bool // "=N": SETVAL of semaphore setNum to value
	setNum  int  // an int, as SETVAL's: past semop's 16-bit sem_num
	value   int
	nowait  bool
	undo    bool
	timeout time.Duration // 0: none
}

// parseSemValueOp reads one operation: N or +N (add), -N (subtract),
// 0 (wait for zero), =N (set). ERANGE for a size past SEMVMX, or a value
// to set below 0, as the kernel gives for a result out of range; but
// -32768 is a sem_op (a short) like any other, which no value can meet.
func parseSemValueOp(s string) (op int, set bool, errno syscall.Errno) {
	if rest, ok := strings.CutPrefix(s, "="); ok {
		if neg, ok := strings.CutPrefix(rest, "-"); ok {
			// Below 0 is out of range, as SETVAL says (ERANGE); "=-0" and
			// what is no number do not parse.
			if v, errno := parseSemNumber(neg, sysv.SemVMX); errno == syscall.ERANGE || errno == 0 && v > 0 {
				return 0, true, syscall.ERANGE
			}
			return 0, true, syscall.EINVAL
		}
		v, errno := parseSemNumber(rest, sysv.SemVMX)
		return v, true, errno
	}
	sign, most := 1, sysv.SemVMX
	body := s
	switch {
	case strings.HasPrefix(s, "+"):
		body = s[1:]
	case strings.HasPrefix(s, "-"):
		sign, body, most = -1, s[1:], -math.MinInt16
	}
	v, errno := parseSemNumber(body, most)
	if errno != 0 {
		return 0, false, errno
	}
	if v == 0 && body != s { // "+0" and "-0" say nothing
		return 0, false, syscall.EINVAL
	}
	return sign * v, false, 0
}

// parseSemNumber reads plain decimal digits; a number past most is ERANGE.
func parseSemNumber(s string, most int) (int, syscall.Errno) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, syscall.EINVAL
	}
	if t := strings.TrimLeft(s, "0"); len(t) > 5 {
		return 0, syscall.ERANGE
	}
	v, _ := strconv.Atoi(s)
	if v > most {
		return 0, syscall.ERANGE
	}
	return v, 0
}

// parseSemWords reads the words that may follow the operations.
func (c *semCommand) parseWords(ws []string) syscall.Errno {
	for _, w := range ws {
		switch {
		case w == "nowait":
			c.nowait = true
		case w == "undo":
			c.undo = true
		case strings.HasPrefix(w, "timeout="):
			d, err := time.ParseDuration(w[len("timeout="):])
			if err != nil || d < 0 {
				return syscall.EINVAL
			}
			if d == 0 {
				c.nowait = true // a zero wait is no wait
			}
			c.timeout = d
		default:
			return syscall.EINVAL
		}
	}
	if c.setVal && c.undo {
		return syscall.EINVAL // SETVAL has nothing to undo
	}
	return 0
}

// parseSemWrite reads a write to semaphore num: "OP [words]".
func parseSemWrite(text string, num int) (semCommand, syscall.Errno) {
	ws := asciiFields(text)
	if len(ws) == 0 {
		return semCommand{}, syscall.EINVAL
	}
	var c semCommand
	op, set, errno := parseSemValueOp(ws[0])
	if errno != 0 {
		return c, errno
	}
	switch {
	case set:
		c.setVal, c.setNum, c.value = true, num, op
	case num > math.MaxUint16:
		// Only SETVAL reaches a semaphore past 65535: semop's sem_num
		// is 16 bits. EINVAL, as the semop file gives "65536:OP".
		return c, syscall.EINVAL
	default:
		c.ops = []sysv.SemOp{{Num: uint16(num), Op: int16(op)}}
	}
	return c, c.parseWords(ws[1:])
}

// parseSemopWrite reads a write to the semop file: "K:OP K:OP ... [words]",
// all operations as one atomic semop; SETVAL cannot be part of one. A
// semaphore number past the set is left to semop, which gives EFBIG, or
// E2BIG first when there are more operations than SEMOPM.
func parseSemopWrite(text string) (semCommand, syscall.Errno) {
	ws := asciiFields(text)
	var c semCommand
	i := 0
	for ; i < len(ws); i++ {
		k, opText, ok := strings.Cut(ws[i], ":")
		if !ok {
			break
		}
		n, err := strconv.ParseUint(k, 10, 16)
		if err != nil || k == "" || k[0] == '+' {
			return c, syscall.EINVAL
		}
		op, set, errno := parseSemValueOp(opText)
		if errno != 0 {
			return c, errno
		}
		if set {
			return c, syscall.EINVAL
		}
		c.ops = append(c.ops, sysv.SemOp{Num: uint16(n), Op: int16(op)})
	}
	if len(c.ops) == 0 {
		return c, syscall.EINVAL
	}
	return c, c.parseWords(ws[i:])
}

// flags turns the words into the flags of every operation.
func (c *semCommand) applyFlags(nonblocking bool) {
	for i := range c.ops {
		if c.nowait || nonblocking {
			c.ops[i].Flags |= sysv.NoWait
		}
		if c.undo {
			c.ops[i].Flags |= sysv.SemUndo
		}
	}
}
