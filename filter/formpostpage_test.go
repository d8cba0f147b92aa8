package filter

import (
	"strings"
	"testing"
)

// TestFormPostFailureIsAPage: a failed form post callback is a browser's navigation (the
// provider's auto-submitted form, Sec-Fetch-Mode navigate), so the user gets the HTML error
// page with its correlation id, not the JSON an API call gets; a fetch() of the callback
// (Sec-Fetch-Mode cors) still gets JSON.
func TestFormPostFailureIsAPage(t *testing.T) {
	for _, mode := range []string{"form_post", "form_post.jwt"} {
		t.Run(mode, func(t *testing.T) {
			l := responseModeLH(t, mode)
			body := "response=a.b.c"
			if mode == "form_post" {
				body = "code=c&state=not-sealed"
			}
			for _, tc := range []struct{ fetchMode, accept, want string }{
				{"navigate", "text/html,application/xhtml+xml,*/*;q=0.8", "text/html"},
				{"cors", "application/json", "application/json"},
			} {
				r := l.post("/oauth2/callback", "application/x-www-form-urlencoded", body,
					"sec-fetch-mode", tc.fetchMode, "accept", tc.accept)
				ct := r.header("content-type")
				if r.status() != 400 || !strings.HasPrefix(ct, tc.want) || r.header("location") != "" {
					t.Errorf("Sec-Fetch-Mode %s: %d %q location %q, want 400 %s", tc.fetchMode, r.status(), ct, r.header("location"), tc.want)
				}
				if corr := r.header("x-correlation-id"); corr == "" || !strings.Contains(string(r.local.Data), corr) {
					t.Errorf("Sec-Fetch-Mode %s: the answer lacks its correlation id %q", tc.fetchMode, corr)
				}
			}
		})
	}
}
