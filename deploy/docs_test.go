package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/host"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/testplugin"
)

// docFiles are the pages whose configuration paths and links are checked.
func docFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	rel := []string{"README.md"}
	for _, p := range pages {
		rel = append(rel, "docs/"+filepath.Base(p))
	}
	return rel
}

// referenceRows are the configuration paths config/README.md documents; config's own test
// keeps that table equal to what the parser knows.
var referenceRow = regexp.MustCompile("(?m)^\\| `([a-z_\\[\\].]+)` \\|")

func referencePaths(t *testing.T) map[string]bool {
	t.Helper()
	rows := map[string]bool{}
	for _, m := range referenceRow.FindAllStringSubmatch(string(repoFile(t, "config/README.md")), -1) {
		rows[m[1]] = true
	}
	if len(rows) < 50 {
		t.Fatalf("only %d rows in config/README.md", len(rows))
	}
	return rows
}

// plannedKeys are configuration keys the docs describe as not implemented yet. Each must
// not exist: when one does, remove it here and say in the docs that it works.
var plannedKeys = map[string]bool{}

var codeSpan = regexp.MustCompile("`([a-z_]+(?:\\[[0-9]*\\])?(?:\\.[a-z_]+(?:\\[[0-9]*\\])?)*)`")

// TestDocsConfigPaths: every configuration path the docs name in backticks is one the
// parser knows, so no page tells a reader to set a key that does not exist.
func TestDocsConfigPaths(t *testing.T) {
	rows := referencePaths(t)
	top := map[string]bool{}
	for p := range rows {
		top[strings.FieldsFunc(p, func(r rune) bool { return r == '.' || r == '[' })[0]] = true
	}
	known := func(p string) bool {
		p = regexp.MustCompile(`\[[0-9]*\]`).ReplaceAllString(p, "[]")
		p = strings.TrimSuffix(p, "[]")
		if rows[p] {
			return true
		}
		for r := range rows {
			if strings.HasPrefix(r, p+".") || strings.HasPrefix(r, p+"[]") {
				return true
			}
		}
		return false
	}
	checked := 0
	for _, page := range docFiles(t) {
		for _, m := range codeSpan.FindAllStringSubmatch(string(repoFile(t, page)), -1) {
			p := m[1]
			first := strings.FieldsFunc(p, func(r rune) bool { return r == '.' || r == '[' })[0]
			if !top[first] || (!strings.ContainsAny(p, ".[") && !rows[p]) {
				continue // a word that is not a configuration path
			}
			checked++
			switch {
			case plannedKeys[p]:
				if known(p) {
					t.Errorf("%s: %s now exists: drop it from plannedKeys and document it", page, p)
				}
			case !known(p):
				t.Errorf("%s names `%s`, which is not a configuration key (config/README.md)", page, p)
			}
		}
	}
	if checked < 30 {
		t.Fatalf("only %d configuration paths found in the docs: is the pattern broken?", checked)
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsLinks: every relative link in README.md and docs/ points to a file that exists,
// and every #anchor to a heading of that file.
func TestDocsLinks(t *testing.T) {
	for _, page := range docFiles(t) {
		for _, m := range mdLink.FindAllStringSubmatch(string(repoFile(t, page)), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			target, anchor, _ := strings.Cut(link, "#")
			path := page
			if target != "" {
				path = filepath.ToSlash(filepath.Join(filepath.Dir(page), target))
			}
			if _, err := os.Stat(filepath.Join("..", path)); err != nil {
				t.Errorf("%s links to %s, which does not exist", page, link)
				continue
			}
			if anchor != "" && !slices.Contains(headingAnchors(t, path), anchor) {
				t.Errorf("%s links to %s: %s has no heading #%s", page, link, path, anchor)
			}
		}
	}
}

// headingAnchors are the anchors GitHub gives a Markdown file's headings.
func headingAnchors(t *testing.T, path string) []string {
	var out []string
	for _, line := range strings.Split(string(repoFile(t, path)), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		out = append(out, b.String())
	}
	return out
}

// section returns the text of the "## " or "### " section titled title, up to the next
// heading of the same or a higher level.
func section(t *testing.T, doc, title string) string {
	t.Helper()
	for _, level := range []string{"## ", "### "} {
		start := strings.Index(doc, "\n"+level+title+"\n")
		if start < 0 {
			continue
		}
		rest := doc[start+len(level)+len(title)+2:]
		end := len(rest)
		for _, stop := range []string{"\n## ", "\n" + level} {
			if i := strings.Index(rest, stop); i >= 0 && i < end {
				end = i
			}
		}
		return rest[:end]
	}
	t.Fatalf("no section %q", title)
	return ""
}

// tableNames returns, for each row of the Markdown tables in text, the backticked names in
// its first cell.
func tableNames(text string) [][]string {
	var rows [][]string
	first := regexp.MustCompile(`^\| ([^|]+) \|`)
	name := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(text, "\n") {
		m := first.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var names []string
		for _, n := range name.FindAllStringSubmatch(m[1], -1) {
			names = append(names, n[1])
		}
		if len(names) > 0 {
			rows = append(rows, names)
		}
	}
	return rows
}

// expandBraces expands "a.{b,c}.{d,e}" into a.b.d, a.b.e, a.c.d, a.c.e.
func expandBraces(s string) []string {
	i := strings.Index(s, "{")
	if i < 0 {
		return []string{s}
	}
	j := strings.Index(s[i:], "}") + i
	var out []string
	for _, alt := range strings.Split(s[i+1:j], ",") {
		out = append(out, expandBraces(s[:i]+alt+s[j+1:])...)
	}
	return out
}

// pluginWasm is the compiled plugin ($PLUGIN_WASM, else built once).
func pluginWasm(t testing.TB) string { return testplugin.Path(t) }

// definedMetrics starts plugin.wasm with a configuration that uses every feature and returns
// the names of the metrics it defines.
func definedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cacheDir := ""
	if d, err := os.UserCacheDir(); err == nil {
		cacheDir = filepath.Join(d, "oidc-proxy-wasm", "wazero") // shared with the e2e tests
	}
	// The example configuration, with a store: its metrics are defined only with one.
	var cfg map[string]any
	if err := json.Unmarshal(repoFile(t, "config/testdata/example.json"), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["store"] = map[string]any{"kind": "etcd", "cluster": "etcd"}
	pluginConfig, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(ctx, host.Config{
		WasmPath: pluginWasm(t), PluginConfig: pluginConfig,
		PluginName: "oidc-proxy", RootID: "oidc-proxy", VMs: 1,
		Clusters: map[string]string{"oidc_provider": "http://127.0.0.1:1", "etcd": "http://127.0.0.1:1"},
		LogLevel: host.LogCritical, CacheDir: cacheDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	names := map[string]bool{}
	for n := range h.Metrics() {
		names[strings.TrimPrefix(n, "wasmcustom.")] = true
	}
	return names
}

// TestOperationsMetrics: docs/operations.md lists exactly the metrics the plugin defines.
func TestOperationsMetrics(t *testing.T) {
	doc := section(t, string(repoFile(t, "docs/operations.md")), "Metrics")
	documented := map[string]bool{}
	for _, row := range tableNames(doc) {
		if strings.HasPrefix(row[0], "oidc_proxy.") {
			for _, n := range expandBraces(row[0]) {
				documented[n] = true
			}
		}
	}
	defined := definedMetrics(t)
	if len(defined) == 0 {
		t.Fatal("the plugin defined no metric")
	}
	for _, n := range sortedKeys(defined) {
		if !documented[n] {
			t.Errorf("metric %s is not in docs/operations.md", n)
		}
	}
	for _, n := range sortedKeys(documented) {
		if !defined[n] {
			t.Errorf("docs/operations.md lists %s, which the plugin does not define", n)
		}
	}
}

// auditCall is a call of filter/log.go's auditInfo or auditWarn with a constant event; an
// event computed at run time is named in a comment "// audit events: a, b" above the call,
// each at the level of the call that follows.
var (
	auditCall    = regexp.MustCompile(`audit(Info|Warn)\("([a-z_]+)"`)
	auditComment = regexp.MustCompile(`// audit events: ([a-z_, ]+)\n\s*audit(Info|Warn)\(`)
)

// loggedEvents maps each audit event the filter logs (as a pattern: "%s" is any word) to the
// levels it is logged at.
func loggedEvents(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "filter", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	events := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		add := func(event, level string) {
			lvl := strings.ToLower(level)
			if !slices.Contains(events[event], lvl) {
				events[event] = append(events[event], lvl)
			}
		}
		for _, m := range auditCall.FindAllStringSubmatch(string(src), -1) {
			add(m[2], m[1])
		}
		for _, m := range auditComment.FindAllStringSubmatch(string(src), -1) {
			for _, e := range strings.Split(m[1], ",") {
				add(strings.TrimSpace(e), m[2])
			}
		}
	}
	if len(events) < 5 {
		t.Fatalf("only %d audit events found in filter/: is the pattern broken?", len(events))
	}
	return events
}

// TestOperationsAuditEvents: docs/operations.md lists exactly the audit events the filter
// logs, each at the level it is logged at.
func TestOperationsAuditEvents(t *testing.T) {
	logged := loggedEvents(t)
	doc := section(t, string(repoFile(t, "docs/operations.md")), "Audit events")
	rowLevel := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([a-z]+) \\|")
	documented := map[string]string{}
	for _, m := range rowLevel.FindAllStringSubmatch(doc, -1) {
		documented[m[1]] = m[2]
	}
	matches := func(pattern, event string) bool {
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), "%s", "[a-z]+") + "$"
		return regexp.MustCompile(re).MatchString(event)
	}
	for _, pattern := range sortedKeys(logged) {
		found := false
		for ev, lvl := range documented {
			if matches(pattern, ev) {
				found = true
				if !slices.Contains(logged[pattern], lvl) {
					t.Errorf("docs/operations.md: event %s is logged at %v, not %s", ev, logged[pattern], lvl)
				}
			}
		}
		if !found {
			t.Errorf("audit event %s is not in docs/operations.md", pattern)
		}
	}
	for _, ev := range sortedKeys(documented) {
		if !slices.ContainsFunc(sortedKeys(logged), func(p string) bool { return matches(p, ev) }) {
			t.Errorf("docs/operations.md lists event %s, which the filter does not log", ev)
		}
	}
}

var failureCode = regexp.MustCompile(`[fF]ailure\{[^}]*?code: "([a-z_]+)"`)

// TestOperationsFailureCodes: docs/operations.md lists exactly the error codes the filter
// answers with.
func TestOperationsFailureCodes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "filter", "*.go"))
	codes := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range failureCode.FindAllStringSubmatch(string(src), -1) {
			codes[m[1]] = true
		}
	}
	if len(codes) < 5 {
		t.Fatalf("only %d failure codes found in filter/: is the pattern broken?", len(codes))
	}
	doc := section(t, string(repoFile(t, "docs/operations.md")), "Request failures")
	documented := map[string]bool{}
	for _, row := range tableNames(doc) {
		for _, c := range row {
			documented[c] = true
		}
	}
	for _, c := range sortedKeys(codes) {
		if !documented[c] {
			t.Errorf("error code %s is not in docs/operations.md", c)
		}
	}
	for _, c := range sortedKeys(documented) {
		if !codes[c] {
			t.Errorf("docs/operations.md lists error code %s, which the filter does not use", c)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// cipherName finds a named cipher or AEAD in prose: AES (with a key size or mode),
// ChaCha20/XChaCha20 (with Poly1305), GCM, CBC, CTR, ECB, Salsa20, NaCl secretbox.
var cipherName = regexp.MustCompile(`(?i)\b(?:X?ChaCha20(?:-Poly1305)?|AES(?:-?(?:128|192|256))?(?:-(?:GCM|CBC|CTR|ECB|SIV|GCM-SIV))?|GCM|CBC|XSalsa20(?:-Poly1305)?|secretbox)\b`)

// sealCipher is the AEAD state/ seals sessions, login states and parked results with.
const sealCipher = "XChaCha20-Poly1305"

// TestDocsCipher: wherever the docs say what seals the cookies (a line with "seal" and a
// cipher's name), the cipher is the one state/ uses: a page must not claim AES-GCM (or any
// other) for sealed sessions. README.md must name it; and the check follows the code: state/
// must still build its AEAD with chacha20poly1305.NewX.
func TestDocsCipher(t *testing.T) {
	if src := string(repoFile(t, "state/sealer.go")); !strings.Contains(src, "chacha20poly1305.NewX(") {
		t.Fatalf("state/sealer.go no longer seals with chacha20poly1305.NewX: update sealCipher and the docs")
	}
	pages := append(docFiles(t), "config/README.md", "ARCHITECTURE.md")
	named := 0
	for _, page := range pages {
		for i, line := range strings.Split(string(repoFile(t, page)), "\n") {
			if !strings.Contains(strings.ToLower(line), "seal") {
				continue
			}
			for _, c := range cipherName.FindAllString(line, -1) {
				if c != sealCipher {
					t.Errorf("%s:%d says %q about sealing; state/ seals with %s: %s", page, i+1, c, sealCipher, strings.TrimSpace(line))
				}
				if page == "README.md" {
					named++
				}
			}
		}
	}
	if named == 0 {
		t.Errorf("README.md does not say that sessions are sealed with %s", sealCipher)
	}
}
