package replicas

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
)

// Etcd is a one-member etcd v3 cluster on loopback with a data folder of its own: the store
// the replicas share. Kill stops it abruptly (as a crashed or partitioned store looks to the
// plugin); Start brings it back on the same ports with the same data.
type Etcd struct {
	// URL is the client URL, http://127.0.0.1:PORT: what the replicas' "etcd" cluster points at.
	URL  string
	bin  string
	dir  string
	peer string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// EtcdBinary is $ETCD, else /usr/bin/etcd (Debian's etcd-server, scripts/ensure-etcd.sh),
// else etcd on the PATH.
func EtcdBinary() (string, error) {
	for _, c := range []string{os.Getenv("ETCD"), "/usr/bin/etcd"} {
		if c == "" {
			continue
		}
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			return c, nil
		}
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p, nil
	}
	return "", errors.New("replicas: no etcd: run scripts/ensure-etcd.sh (Debian package etcd-server) or set ETCD")
}

// StartEtcd starts etcd in a new temporary data folder (in memory when it can: memDir) on two
// free loopback ports and waits until it answers its JSON gateway. Close stops it and removes
// the folder.
func StartEtcd(ctx context.Context) (*Etcd, error) {
	bin, err := EtcdBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(memDir(), "etcd-")
	if err != nil {
		return nil, err
	}
	client, err := proxy.FreeAddr()
	if err != nil {
		return nil, err
	}
	peer, err := proxy.FreeAddr()
	if err != nil {
		return nil, err
	}
	e := &Etcd{URL: "http://" + client, bin: bin, dir: dir, peer: "http://" + peer}
	if err := e.Start(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Start starts (or starts again, after Kill) the etcd process and waits until it serves.
func (e *Etcd) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.cmd != nil {
		e.mu.Unlock()
		return errors.New("replicas: etcd is already running")
	}
	lf, err := os.OpenFile(filepath.Join(e.dir, "etcd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	cmd := exec.Command(e.bin,
		"--name", "replicas", "--data-dir", filepath.Join(e.dir, "data"),
		"--listen-client-urls", e.URL, "--advertise-client-urls", e.URL,
		"--listen-peer-urls", e.peer, "--initial-advertise-peer-urls", e.peer,
		"--initial-cluster", "replicas="+e.peer, "--initial-cluster-state", "new",
		"--log-level", "warn", "--logger", "zap")
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		e.mu.Unlock()
		return fmt.Errorf("replicas: starting %s: %w", e.bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	e.cmd, e.done, e.log = cmd, done, lf
	e.mu.Unlock()

	for {
		if err := e.Put(ctx, "replicas/ready", "1"); err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("replicas: etcd exited at start:\n%s", e.Log())
		case <-ctx.Done():
			e.Kill()
			return fmt.Errorf("replicas: etcd did not start serving: %w\n%s", ctx.Err(), e.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Wipe removes a killed etcd's data: the next Start serves an empty store, whose revisions
// start again at 1 (a store replaced, or restored from nothing).
func (e *Etcd) Wipe() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd != nil {
		return errors.New("replicas: Wipe of a running etcd")
	}
	return os.RemoveAll(filepath.Join(e.dir, "data"))
}

// Kill stops etcd with SIGKILL and waits until it has exited.
func (e *Etcd) Kill() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	<-e.done
	e.log.Close()
	e.cmd = nil
}

// Pause stops etcd with SIGSTOP: connections are accepted (by the kernel) and never answered,
// as a stalled store looks. Resume (SIGCONT) lets it go on with what queued meanwhile.
func (e *Etcd) Pause() error { return e.signal(syscall.SIGSTOP) }

// Resume continues a paused etcd.
func (e *Etcd) Resume() error { return e.signal(syscall.SIGCONT) }

func (e *Etcd) signal(sig syscall.Signal) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return errors.New("replicas: etcd is not running")
	}
	return e.cmd.Process.Signal(sig)
}

// Close kills etcd and removes its data folder.
func (e *Etcd) Close() {
	e.Kill()
	os.RemoveAll(e.dir)
}

// Log is etcd's own log.
func (e *Etcd) Log() string {
	b, _ := os.ReadFile(filepath.Join(e.dir, "etcd.log"))
	return string(b)
}

// Put writes key=value through the JSON gateway (keys and values base64, as v3 wants them).
func (e *Etcd) Put(ctx context.Context, key, value string) error {
	_, err := e.call(ctx, "/v3/kv/put", fmt.Sprintf(`{"key":%q,"value":%q}`, b64(key), b64(value)))
	return err
}

// Keys counts the keys under prefix: what the plugin keeps in the store.
func (e *Etcd) Keys(ctx context.Context, prefix string) (int, error) {
	end := []byte(prefix)
	end[len(end)-1]++
	body, err := e.call(ctx, "/v3/kv/range", fmt.Sprintf(`{"key":%q,"range_end":%q,"count_only":true}`, b64(prefix), b64(string(end))))
	if err != nil {
		return 0, err
	}
	// {"header":{...},"count":"3"}; no count member means 0.
	i := strings.Index(body, `"count":"`)
	if i < 0 {
		return 0, nil
	}
	var n int
	_, err = fmt.Sscanf(body[i+len(`"count":"`):], "%d", &n)
	return n, err
}

func (e *Etcd) call(ctx context.Context, path, body string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+path, bytes.NewBufferString(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("replicas: etcd %s: %d %.200s", path, resp.StatusCode, b)
	}
	return string(b), nil
}

// memDir is /dev/shm when there is one, else the temporary folder. etcd fsyncs its log at
// every write; on a disk shared with other builds a sync took 2.8 s here, longer than the
// plugin's store.timeout, so the replicas rightly fell back without the store in the middle of
// a scenario that is about something else. In memory, etcd's slowness is its own.
func memDir() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return ""
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
