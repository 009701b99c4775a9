package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIAllowOtherNeedsRoot: an ordinary user's daemon refuses
// allow_other, in both spellings, before mounting anything. It could not
// act as each caller, so it would lend every other user its own rights.
func TestCLIAllowOtherNeedsRoot(t *testing.T) {
	mnt := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(mnt, 0755); err != nil || os.Chown(mnt, 1000, 1000) != nil {
		t.Fatal("making the user's mountpoint: ", err)
	}
	openToOthers(t, mnt)
	openToOthers(t, ipcfsBin)
	tmp := t.TempDir() // the user's state directory goes here
	if err := os.Chmod(tmp, 0777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	for _, flag := range [][]string{{"--allow-other"}, {"-o", "allow_other"}} {
		args := append([]string{"--reuid=1000", "--regid=1000", "--clear-groups", ipcfsBin}, append(flag, mnt)...)
		cmd := exec.Command("setpriv", args...)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR=", "TMPDIR="+tmp)
		out, err := runToEnd(t, cmd)
		if err == nil || !strings.Contains(out, "allow_other needs the daemon to run as root") {
			t.Errorf("an ordinary user's daemon with %v: %v %q; want it to refuse and say why", flag, err, out)
		}
		if lines := mountInfo(mnt); len(lines) != 0 {
			exec.Command("umount", "-l", mnt).Run()
			t.Errorf("mounted anyway with %v: %q", flag, lines)
		}
	}
}
