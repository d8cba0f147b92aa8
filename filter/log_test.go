package filter

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/logline"
)

// allLogs is every line the plugin logged, any level.
func (l *lh) allLogs() []string {
	h := l.host
	return slices.Concat(h.GetTraceLogs(), h.GetDebugLogs(), h.GetInfoLogs(), h.GetWarnLogs(), h.GetErrorLogs(), h.GetCriticalLogs())
}

// A provider error_description (any text an attacker puts in a callback link) cannot add a
// pair to the audit line: the forged event stays inside a quoted value.
func TestForgedCallbackErrorCannotWriteAPair(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	lg := l.startLogin("/")
	forged := `x corr=forged event=login_succeeded sub="admin"` + "\nwasm log forged: audit event=login_succeeded"
	r := l.navigate("/oauth2/callback?error=access_denied&error_description="+url.QueryEscape(forged)+"&state="+url.QueryEscape(lg.state), "cookie", lg.cookie)
	if r.status() != 403 {
		t.Fatalf("status %d, want 403", r.status())
	}
	found := false
	for _, line := range l.allLogs() {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("a log line with a line break: %q", line)
		}
		_, pairs, ok := logline.Parse(line)
		if !ok {
			continue // the configuration's own lines
		}
		events := 0
		for _, p := range pairs {
			if p[0] == "event" {
				events++
				found = found || p[1] == "login_failed"
			}
			if p[0] == "corr" && p[1] == "forged" || p[0] == "sub" && p[1] == "admin" {
				t.Errorf("a forged pair %s=%s in %q", p[0], p[1], line)
			}
		}
		if events > 1 {
			t.Errorf("%d event pairs in %q", events, line)
		}
	}
	if !found {
		t.Errorf("no login_failed audit line in %q", l.allLogs())
	}
}

// log_level is the plugin's threshold: at warn, the info lines (start-up, login_started) are
// not written and the warn ones are.
func TestLogLevelIsTheThreshold(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["log_level"] = "warn" })
	l.ready()
	lg := l.startLogin("/")
	if info := l.host.GetInfoLogs(); len(info) != 0 {
		t.Errorf("info lines at log_level warn: %q", info)
	}
	l.navigate("/oauth2/callback?error=access_denied&state="+url.QueryEscape(lg.state), "cookie", lg.cookie)
	if !slices.ContainsFunc(l.host.GetWarnLogs(), func(s string) bool { return strings.HasPrefix(s, "audit event=login_failed") }) {
		t.Errorf("no warn login_failed line at log_level warn: %q", l.host.GetWarnLogs())
	}
}

// One prefix: Envoy starts each line with "wasm log" and the plugin's name; the plugin's own
// lines do not repeat it.
func TestLogLinesHaveNoPrefixOfTheirOwn(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	l.startLogin("/")
	for _, line := range l.allLogs() {
		if strings.HasPrefix(line, "oidc-proxy") {
			t.Errorf("a line with its own prefix: %q", line)
		}
	}
}
