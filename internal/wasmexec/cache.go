package wasmexec

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// PruneCache removes all but the keep most recently written files under the
// compilation cache dir. Every rebuilt test binary adds an entry of tens of
// megabytes, and wazero never evicts any.
func PruneCache(dir string, keep int) error {
	type entry struct {
		path string
		mod  time.Time
	}
	var files []entry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if fi, err := d.Info(); err == nil {
			files = append(files, entry{path, fi.ModTime()})
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(files, func(a, b entry) int { return b.mod.Compare(a.mod) })
	for _, f := range files[min(keep, len(files)):] {
		if err := os.Remove(f.path); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}
