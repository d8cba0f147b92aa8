// Package keycloak runs a real Keycloak server for end-to-end tests.
//
// Start launches `kc.sh start-dev --import-realm` from the distribution that
// scripts/ensure-keycloak.sh unpacks into .cache/keycloak (or $KEYCLOAK_HOME), with JAVA_HOME
// set to a Java 21+ runtime ($KEYCLOAK_JAVA_HOME, else /usr/lib/jvm/temurin-25-jdk-amd64), on
// a free loopback port, with an in-memory database (nothing survives a run) and the bootstrap
// admin from the environment. The realm JSON given in Config is imported at start; Start
// returns once the realm's discovery document answers. Close stops the server (SIGTERM, then
// SIGKILL) and a failure quotes the end of Keycloak's log.
//
// Realm imports go to the distribution's data/import folder, so one Keycloak runs from one
// distribution at a time: Start holds a lock on it until Close.
package keycloak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Version is the Keycloak release scripts/ensure-keycloak.sh installs.
const Version = "26.7.3"

// Admin credentials of the bootstrap admin (master realm).
const (
	AdminUser     = "admin"
	AdminPassword = "admin-password-for-tests"
)

// Config is one Keycloak server.
type Config struct {
	// Realm is the realm JSON imported at start; RealmName its "realm".
	Realm     []byte
	RealmName string
	// Port is the HTTP port on 127.0.0.1; a free one when 0.
	Port int
	// LogWriter, when set, receives Keycloak's log as it is written.
	LogWriter io.Writer
	// TLS, when set, adds an HTTPS listener that asks for client certificates.
	TLS *TLS
}

// TLS is Keycloak's HTTPS listener beside the HTTP one: PEM server certificate and key, and
// the CA it trusts for client certificates (RFC 8705 tls_client_auth, --https-client-auth
// request: a connection without a certificate is still served). Keycloak's own URLs (the
// issuer, the endpoints in discovery) stay the HTTP ones whichever listener a request comes
// in on (--hostname is the HTTP URL), so tokens redeemed over HTTPS name the same issuer.
type TLS struct {
	Port                      int // a free one when 0
	CertFile, KeyFile, CAFile string
}

// Keycloak is a running server.
type Keycloak struct {
	URL      string // http://127.0.0.1:PORT
	Issuer   string // URL + /realms/REALM
	HTTPSURL string // https://127.0.0.1:PORT with Config.TLS, else ""
	Startup  time.Duration
	realm    string
	imported string // the realm file in data/import, removed at Close
	cmd      *exec.Cmd
	done     chan struct{}
	log      *syncBuffer
	lock     *os.File
	once     sync.Once
}

// Home is the unpacked distribution: $KEYCLOAK_HOME, else .cache/keycloak/keycloak-Version
// in the repository, installed by scripts/ensure-keycloak.sh when missing.
func Home() (string, error) {
	if h := os.Getenv("KEYCLOAK_HOME"); h != "" {
		return h, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	home := filepath.Join(root, ".cache", "keycloak", "keycloak-"+Version)
	if _, err := os.Stat(filepath.Join(home, "bin", "kc.sh")); err != nil {
		out, err := exec.Command("bash", filepath.Join(root, "scripts", "ensure-keycloak.sh")).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("keycloak: scripts/ensure-keycloak.sh: %v\n%s", err, out)
		}
	}
	return home, nil
}

// JavaHome is the Java runtime Keycloak runs on.
func JavaHome() string {
	if j := os.Getenv("KEYCLOAK_JAVA_HOME"); j != "" {
		return j
	}
	return "/usr/lib/jvm/temurin-25-jdk-amd64"
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("keycloak: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts Keycloak and waits until the realm's discovery document answers.
func Start(ctx context.Context, c Config) (*Keycloak, error) {
	home, err := Home()
	if err != nil {
		return nil, err
	}
	if c.RealmName == "" {
		return nil, errors.New("keycloak: Config.RealmName is empty")
	}
	port := c.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	imports := filepath.Join(home, "data", "import")
	if err := os.MkdirAll(imports, 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(home, "data", ".test-lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		return nil, err
	}
	old, _ := filepath.Glob(filepath.Join(imports, "*.json"))
	for _, f := range old {
		os.Remove(f)
	}
	importFile := filepath.Join(imports, c.RealmName+"-realm.json")
	if err := os.WriteFile(importFile, c.Realm, 0o600); err != nil {
		lock.Close()
		return nil, err
	}
	k := &Keycloak{
		URL:      "http://127.0.0.1:" + strconv.Itoa(port),
		done:     make(chan struct{}),
		log:      &syncBuffer{},
		lock:     lock,
		realm:    c.RealmName,
		imported: importFile,
	}
	k.Issuer = k.URL + "/realms/" + c.RealmName
	var out io.Writer = k.log
	if c.LogWriter != nil {
		out = io.MultiWriter(k.log, c.LogWriter)
	}
	args := []string{"start-dev", "--import-realm",
		"--http-host=127.0.0.1", "--http-port=" + strconv.Itoa(port), "--db=dev-mem",
		"--health-enabled=false", "--metrics-enabled=false",
		"--cache=local", "--log-level=INFO,org.keycloak.events:DEBUG"}
	if c.TLS == nil {
		args = append(args, "--hostname-strict=false")
	} else {
		tp := c.TLS.Port
		if tp == 0 {
			if tp, err = FreePort(); err != nil {
				lock.Close()
				return nil, err
			}
		}
		k.HTTPSURL = "https://127.0.0.1:" + strconv.Itoa(tp)
		args = append(args, "--hostname="+k.URL, "--https-port="+strconv.Itoa(tp),
			"--https-certificate-file="+c.TLS.CertFile, "--https-certificate-key-file="+c.TLS.KeyFile,
			"--https-client-auth=request", "--truststore-paths="+c.TLS.CAFile)
	}
	k.cmd = exec.Command(filepath.Join(home, "bin", "kc.sh"), args...)
	k.cmd.Env = append(os.Environ(),
		"JAVA_HOME="+JavaHome(),
		"KC_BOOTSTRAP_ADMIN_USERNAME="+AdminUser,
		"KC_BOOTSTRAP_ADMIN_PASSWORD="+AdminPassword,
		"JAVA_OPTS_KC_HEAP=-Xms256m -Xmx768m",
		// C1 only: on 2 shared cores the C2 compiler threads competed with start-up, which
		// took 69 s with them and 35 s without (measured back to back, load average 5.8).
		"JAVA_OPTS_APPEND=-XX:TieredStopAtLevel=1",
	)
	k.cmd.Stdout, k.cmd.Stderr = out, out
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	began := time.Now()
	if err := k.cmd.Start(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("keycloak: starting kc.sh: %w", err)
	}
	go func() { k.cmd.Wait(); close(k.done) }()
	if err := k.waitDiscovery(ctx); err != nil {
		k.Close()
		return nil, fmt.Errorf("%w\nKeycloak's log ends:\n%s", err, k.Tail(40))
	}
	k.Startup = time.Since(began)
	return k, nil
}

func (k *Keycloak) waitDiscovery(ctx context.Context) error {
	url := k.Issuer + "/.well-known/openid-configuration"
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("keycloak: %s did not answer: %w", url, ctx.Err())
		case <-k.done:
			return fmt.Errorf("keycloak: kc.sh exited before %s answered (%v)", url, k.cmd.ProcessState)
		case <-time.After(250 * time.Millisecond):
		}
		resp, err := client.Get(url)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`"issuer"`)) {
			return nil
		}
	}
}

// Log is Keycloak's log so far.
func (k *Keycloak) Log() string { return k.log.String() }

// Tail is the last n lines of Keycloak's log.
func (k *Keycloak) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(k.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Close stops Keycloak: SIGTERM to its process group, SIGKILL after 20 s.
func (k *Keycloak) Close() error {
	var err error
	k.once.Do(func() {
		defer k.lock.Close()
		defer os.Remove(k.imported) // it holds the run's client secrets
		pgid := k.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-k.done:
		case <-time.After(20 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-k.done
			err = fmt.Errorf("keycloak: did not stop within 20 s of SIGTERM\n%s", k.Tail(20))
		}
	})
	return err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
