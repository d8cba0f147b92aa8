package config

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// readFile returns a testdata file.
func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// with returns testdata/minimal.json with patch applied as an RFC 7396 JSON
// merge patch: objects merge, null deletes a key, anything else replaces.
func with(t testing.TB, patch string) []byte {
	t.Helper()
	var base, p any
	if err := json.Unmarshal(readFile(t, "minimal.json"), &base); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(patch), &p); err != nil {
		t.Fatalf("bad patch %s: %v", patch, err)
	}
	out, err := json.Marshal(mergePatch(base, p))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mergePatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
		} else {
			tm[k] = mergePatch(tm[k], v)
		}
	}
	return tm
}

// mustParse parses data and fails the test on any error.
func mustParse(t testing.TB, data []byte) *Config {
	t.Helper()
	c, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// errLines returns the lines of err's message ("" for nil).
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}
