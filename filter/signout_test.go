package filter

import (
	"strings"
	"testing"
)

// {prefix}/signed_out is a page of its own, served without a session: it says the user is
// signed out and links to a new sign-in (not the provider's login form at once).
func TestSignedOutPage(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	r := l.navigate("/oauth2/signed_out")
	body := string(r.local.Data)
	if r.status() != 200 || !strings.Contains(body, "You are signed out") || !strings.Contains(body, `href="/oauth2/sign_in?rd=%2F"`) {
		t.Fatalf("signed-out page: %d %s", r.status(), body)
	}
	if cc := r.header("cache-control"); cc != "no-store" {
		t.Errorf("cache-control %q, want no-store", cc)
	}
	if cs := l.host.GetCalloutAttributesFromContext(r.id); len(cs) != 0 {
		t.Errorf("the page sent a callout")
	}
}
