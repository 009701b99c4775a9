package integration

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ipcsCounts is what `ipcs -u` counts: pages of all segments (shm_tot),
// segments, semaphore sets and queues.
type ipcsCounts struct{ pages, segments, sets, queues uint64 }

func ipcsUsage(t *testing.T) ipcsCounts {
	t.Helper()
	out := mustSh(t, "ipcs -u")
	field := func(label string) uint64 {
		m := regexp.MustCompile(regexp.QuoteMeta(label) + `\s*=?\s*(\d+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("ipcs -u has no %q:\n%s", label, out)
		}
		n, _ := strconv.ParseUint(m[1], 10, 64)
		return n
	}
	return ipcsCounts{field("pages allocated"), field("segments allocated"), field("used arrays"), field("allocated queues")}
}

// kernelLimit reads a number from /proc/sys/kernel/NAME (field i).
func kernelLimit(t *testing.T, name string, i int) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/" + name)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.Fields(string(b))[i], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStatfsIsShmUsage: df of the mount is shared memory against its
// limit, as the kernel counts it: blocks are pages, the size is shmall
// (the default, no limit, shows as 8 EiB), the used blocks are `ipcs -u`'s
// pages allocated, so the available ones are what shmget may still take.
// Files are object slots: shmmni + semmni + msgmni, and those in use.
func TestStatfsIsShmUsage(t *testing.T) {
	m := mount(t)
	key := newKey()
	newSegment(t, key, 5*4096+1, 0600) // 6 pages
	check := func(t *testing.T) {
		page := uint64(os.Getpagesize())
		blocks := min(kernelLimit(t, "shmall", 0), math.MaxInt64/page)
		files := kernelLimit(t, "shmmni", 0) + kernelLimit(t, "sem", 3) + kernelLimit(t, "msgmni", 0)
		for _, path := range []string{m.Dir, m.Path("shm", keyName(key)), m.Path("msg")} {
			// Other tests make and remove objects meanwhile: take a statfs
			// between two equal counts, and if it differs, try again, as
			// the counts may have moved and come back in between.
			var mismatch string
			for try := 0; ; try++ {
				if try == 50 {
					t.Fatalf("no statfs matched ipcs -u in 50 tries; the last: %s", mismatch)
				}
				before := ipcsUsage(t)
				var st unix.Statfs_t
				if err := unix.Statfs(path, &st); err != nil {
					t.Fatalf("statfs %s: %v", path, err)
				}
				df := strings.Fields(mustSh(t, "df -B"+strconv.FormatUint(page, 10)+" --output=size,used,avail "+path+" | tail -1"))
				if after := ipcsUsage(t); after != before {
					mismatch = fmt.Sprintf("the counts moved: %+v, %+v", before, after)
					continue
				}
				want := unix.Statfs_t{Type: st.Type, Fsid: st.Fsid, Flags: st.Flags,
					Bsize: int64(page), Frsize: int64(page), Namelen: 255,
					Blocks: blocks, Bfree: blocks - before.pages, Bavail: blocks - before.pages,
					Files: files, Ffree: files - before.segments - before.sets - before.queues}
				wantDF := []string{strconv.FormatUint(blocks, 10), strconv.FormatUint(before.pages, 10), strconv.FormatUint(blocks-before.pages, 10)}
				if st != want {
					mismatch = fmt.Sprintf("statfs %s:\n %+v\nwant\n %+v (ipcs -u: %+v)", path, st, want, before)
					continue
				}
				if strings.Join(df, " ") != strings.Join(wantDF, " ") {
					mismatch = fmt.Sprintf("df of %s: %q, want %q", path, df, wantDF)
					continue
				}
				break
			}
		}
	}
	t.Run("default shmall", check)
	t.Run("lowered shmall", func(t *testing.T) {
		// Room for 4 GiB more, so that other tests running meanwhile
		// still have theirs.
		setSysctl(t, "shmall", int(ipcsUsage(t).pages+1<<20))
		check(t)
	})
}
