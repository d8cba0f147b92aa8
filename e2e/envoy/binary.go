package envoy

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
)

// Root is the repository's top folder (where envoy.yaml and scripts/ are).
func Root() (string, error) {
	if r := os.Getenv("OIDC_PROXY_ROOT"); r != "" {
		return r, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if ok {
		r := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
		if _, err := os.Stat(filepath.Join(r, "envoy.yaml")); err == nil {
			return r, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "envoy.yaml")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				return d, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", errors.New("envoy: repository root (envoy.yaml beside go.mod) not found; set OIDC_PROXY_ROOT")
		}
	}
}

var binaryOnce struct {
	sync.Once
	path string
	err  error
}

// Binary returns the Envoy binary: $ENVOY_BIN, else the project's .cache/envoy/envoy, which
// it installs with scripts/ensure-envoy.sh when missing.
func Binary() (string, error) {
	binaryOnce.Do(func() { binaryOnce.path, binaryOnce.err = findBinary() })
	return binaryOnce.path, binaryOnce.err
}

func findBinary() (string, error) {
	if b := os.Getenv("ENVOY_BIN"); b != "" {
		if _, err := os.Stat(b); err != nil {
			return "", fmt.Errorf("envoy: ENVOY_BIN=%q: %w", b, err)
		}
		return b, nil
	}
	root, err := Root()
	if err != nil {
		return "", err
	}
	link := filepath.Join(root, ".cache", "envoy", "envoy")
	if _, err := os.Stat(link); err == nil {
		return link, nil
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "ensure-envoy.sh"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("envoy: scripts/ensure-envoy.sh failed: %v\n%s", err, out)
	}
	if _, err := os.Stat(link); err != nil {
		return "", fmt.Errorf("envoy: scripts/ensure-envoy.sh did not install %s:\n%s", link, out)
	}
	return link, nil
}

var versionRE = regexp.MustCompile(`/(\d+\.\d+\.\d+)/`)

// Version is the Envoy binary's release number, e.g. "1.40.0".
func Version() (string, error) {
	bin, err := Binary()
	if err != nil {
		return "", err
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("envoy: %s --version: %v: %s", bin, err, strings.TrimSpace(string(out)))
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("envoy: no version in %q", strings.TrimSpace(string(out)))
	}
	return string(m[1]), nil
}
