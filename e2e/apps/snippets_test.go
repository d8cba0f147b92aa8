package apps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSnippetsAreTheTestedApps: every code block of the long-lived apps snippets page is in
// the example app the suite runs (its lines, trimmed, in order), so the docs show only code
// that has run in Envoy and Chromium. It needs no app and runs in a plain `go test ./...`.
func TestSnippetsAreTheTestedApps(t *testing.T) {
	root := repoRoot(t)
	doc := filepath.Join(root, "docs", "long-lived-apps-snippets.md")
	apps := map[string]string{
		"r":      "docs/examples/apps/shiny/app.R",
		"python": "docs/examples/apps/streamlit/app.py",
		"html":   "docs/examples/apps/streamlit/oidc_token/index.html",
	}
	raw, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	blocks := codeBlocks(string(raw))
	checked := 0
	for i, b := range blocks {
		app, ok := apps[b.lang]
		if !ok {
			continue
		}
		src, err := os.ReadFile(filepath.Join(root, app))
		if err != nil {
			t.Fatal(err)
		}
		if missing := notInOrder(b.lines, trimmedLines(string(src))); missing != "" {
			t.Errorf("%s, code block %d (%s): the line %q is not in %s (in this order)", filepath.Base(doc), i+1, b.lang, missing, app)
		}
		checked++
	}
	if checked < 6 {
		t.Errorf("%s: %d code blocks checked against the apps, want at least 6", filepath.Base(doc), checked)
	}
}

type codeBlock struct {
	lang  string
	lines []string
}

// codeBlocks are the fenced code blocks of a Markdown text, their lines trimmed, blank
// lines left out.
func codeBlocks(md string) []codeBlock {
	var out []codeBlock
	var cur *codeBlock
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "```") {
			if cur == nil {
				cur = &codeBlock{lang: strings.TrimSpace(strings.TrimPrefix(l, "```"))}
			} else {
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil && strings.TrimSpace(l) != "" {
			cur.lines = append(cur.lines, strings.TrimSpace(l))
		}
	}
	return out
}

func trimmedLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		out = append(out, strings.TrimSpace(l))
	}
	return out
}

// notInOrder returns the first of want that does not follow the one before it in have.
func notInOrder(want, have []string) string {
	j := 0
	for _, w := range want {
		for j < len(have) && have[j] != w {
			j++
		}
		if j == len(have) {
			return w
		}
		j++
	}
	return ""
}
