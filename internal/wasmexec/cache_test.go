package wasmexec

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPruneCache(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "wazero-v1-amd64-linux")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, name := range []string{"oldest", "old", "new", "newest"} {
		p := filepath.Join(sub, name)
		if err := os.WriteFile(p, []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
		mod := now.Add(time.Duration(i-4) * time.Hour)
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	if err := PruneCache(dir, 2); err != nil {
		t.Fatal(err)
	}
	for name, kept := range map[string]bool{"oldest": false, "old": false, "new": true, "newest": true} {
		_, err := os.Stat(filepath.Join(sub, name))
		if (err == nil) != kept {
			t.Errorf("%s: kept = %v, want %v", name, err == nil, kept)
		}
	}
	if err := PruneCache(filepath.Join(dir, "missing"), 2); err == nil {
		t.Error("pruning a missing directory: no error")
	}
}
