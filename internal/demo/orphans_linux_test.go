package demo

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The helper process: started by TestChildDiesWithParent as this test
// binary with KOJIGO_DEMO_HELPER set, it starts a child the way the demo
// does, from a goroutine whose thread then dies, prints the child's pid
// and waits to be killed.
func init() {
	if os.Getenv("KOJIGO_DEMO_HELPER") == "" {
		return
	}
	pid := make(chan int)
	go func() {
		// A goroutine that exits locked takes its OS thread with it:
		// the thread that started the child is gone when this returns.
		runtime.LockOSThread()
		c, err := startChild("sleeper", filepath.Join(os.Getenv("KOJIGO_DEMO_HELPER"), "sleeper.log"), syscall.SIGKILL, "/bin/sleep", "300")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		pid <- c.cmd.Process.Pid
	}()
	fmt.Println(<-pid)
	select {}
}

// alive reports whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// TestChildDiesWithParent: a daemon the demo started outlives the thread
// that started it, and dies with kojictl when kojictl is SIGKILLed.
func TestChildDiesWithParent(t *testing.T) {
	if _, err := os.Stat("/bin/sleep"); err != nil {
		t.Skip("no /bin/sleep")
	}
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), "KOJIGO_DEMO_HELPER="+t.TempDir())
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer helper.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	defer syscall.Kill(child, syscall.SIGKILL)
	// The starting thread is gone; give the kernel's death signal, were
	// it tied to that thread, time to arrive.
	time.Sleep(300 * time.Millisecond)
	if !alive(child) {
		t.Fatal("the child died with the thread that started it, while its parent lives")
	}
	helper.Process.Signal(syscall.SIGKILL)
	helper.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(child) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d still runs 10s after its parent was killed", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
