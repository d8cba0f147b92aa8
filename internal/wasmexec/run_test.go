package wasmexec

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var guest struct {
	once  sync.Once
	wasm  []byte
	cache string
	err   error
}

// guestWasm builds testdata/guest for wasip1 once per test process.
func guestWasm(t *testing.T) []byte {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the guest:", err)
	}
	guest.once.Do(func() {
		dir, err := os.MkdirTemp("", "wasmexec-test-")
		if err != nil {
			guest.err = err
			return
		}
		out := filepath.Join(dir, "guest.wasm")
		cmd := exec.Command(goBin, "build", "-o", out, ".")
		cmd.Dir = filepath.Join("testdata", "guest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			guest.err = err
			t.Log(string(msg))
			return
		}
		guest.wasm, guest.err = os.ReadFile(out)
		guest.cache = filepath.Join(dir, "cache")
	})
	if guest.err != nil {
		t.Fatal("building the guest:", guest.err)
	}
	return guest.wasm
}

type result struct {
	code           int
	stdout, stderr string
}

func runGuest(t *testing.T, env []string, args ...string) result {
	t.Helper()
	wasm := guestWasm(t)
	var stdout, stderr bytes.Buffer
	code, err := Run(context.Background(), wasm, Config{
		Args:     append([]string{"guest.wasm"}, args...),
		Env:      env,
		Dir:      filepath.Join("testdata", "guest"),
		Stdout:   &stdout,
		Stderr:   &stderr,
		CacheDir: guest.cache,
	})
	if err != nil {
		t.Fatal(err)
	}
	return result{code, strings.TrimSpace(stdout.String()), strings.TrimSpace(stderr.String())}
}

func TestRun(t *testing.T) {
	guestDir, err := filepath.Abs(filepath.Join("testdata", "guest"))
	if err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stdout string
	}{
		{name: "args pass through", args: []string{"args", "a", "-b=c"}, stdout: "[a -b=c]"},
		{name: "env passes through", env: []string{"FOO=bar=baz"}, args: []string{"env", "FOO"}, stdout: "bar=baz"},
		{name: "PWD is the working directory", env: []string{"PWD=/elsewhere"}, args: []string{"env", "PWD"}, stdout: guestDir},
		{name: "cwd is the working directory", args: []string{"cwd"}, stdout: guestDir},
		{name: "exit code propagates", args: []string{"exit", "7"}, code: 7},
		{name: "panic exits 2", args: []string{"panic"}, code: 2},
		{name: "relative testdata reads", args: []string{"read", "testdata/hello.txt"}, stdout: "hello from testdata"},
		{name: "absolute host path reads", args: []string{"read", filepath.Join(guestDir, "testdata", "hello.txt")}, stdout: "hello from testdata"},
		{name: "working directory is read-only", args: []string{"write", "new.txt"}, code: 3},
		{name: "paths outside are not mounted", args: []string{"read", "/etc/hostname"}, code: 3},
		{name: "TMPDIR is writable", args: []string{"tempdir"}, stdout: "ok"},
		{
			name:   "output flag directories are writable",
			args:   []string{"write", filepath.Join(outDir, "out.txt"), "-test.outputdir=" + outDir},
			stdout: "wrote " + filepath.Join(outDir, "out.txt"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runGuest(t, tt.env, tt.args...)
			if got.code != tt.code {
				t.Fatalf("exit code %d, want %d (stdout %q, stderr %q)", got.code, tt.code, got.stdout, got.stderr)
			}
			if tt.stdout != "" && got.stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", got.stdout, tt.stdout)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(guestDir, "new.txt")); err == nil {
		os.Remove(filepath.Join(guestDir, "new.txt"))
		t.Error("the guest wrote into the read-only working directory")
	}
}

func TestRunRealClock(t *testing.T) {
	before := time.Now()
	got := runGuest(t, nil, "now")
	ns, err := strconv.ParseInt(got.stdout, 10, 64)
	if err != nil {
		t.Fatalf("now: %q: %v", got.stdout, err)
	}
	if guestNow := time.Unix(0, ns); guestNow.Before(before.Add(-time.Second)) || guestNow.After(time.Now().Add(time.Second)) {
		t.Errorf("guest wall clock %v, host %v: not the real clock", guestNow, before)
	}

	got = runGuest(t, nil, "sleep", "50ms")
	ns, err = strconv.ParseInt(got.stdout, 10, 64)
	if err != nil {
		t.Fatalf("sleep: %q: %v", got.stdout, err)
	}
	if slept := time.Duration(ns); slept < 50*time.Millisecond || slept > 5*time.Second {
		t.Errorf("guest measured a 50ms sleep as %v: not the real monotonic clock", slept)
	}
}

func TestRunRealRandomness(t *testing.T) {
	a, b := runGuest(t, nil, "rand"), runGuest(t, nil, "rand")
	if len(a.stdout) != 32 || a.stdout == b.stdout {
		t.Errorf("two runs drew %q and %q: not crypto randomness", a.stdout, b.stdout)
	}
}

func TestPlanMounts(t *testing.T) {
	tmp, cover := t.TempDir(), t.TempDir()
	file := filepath.Join(tmp, "cover.out") // does not exist yet: its directory is mounted
	got := planMounts("/work/pkg", "/tmp/scratch",
		[]string{"x.wasm", "-test.coverprofile=" + file, "-test.run=/abs/regexp", "-test.outputdir=relative"},
		[]string{"GOCOVERDIR=" + cover, "HOME=/root"})
	want := map[string]bool{"/work/pkg": false, "/tmp/scratch": true, tmp: true, cover: true}
	if len(got) != len(want) {
		t.Fatalf("mounts %v, want %v", got, want)
	}
	for p, rw := range want {
		if g, ok := got[p]; !ok || g != rw {
			t.Errorf("mount %s: got (%v, present %v), want writable=%v", p, g, ok, rw)
		}
	}
}
