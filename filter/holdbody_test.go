package filter

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// holdEndpoints turns on the back-channel logout, form_post and, when hold is set,
// endpoints.allow_on_headers_stop_iteration.
func holdEndpoints(hold bool) func(map[string]any) {
	return func(c map[string]any) {
		c["endpoints"] = map[string]any{"backchannel_logout": true, "allow_on_headers_stop_iteration": hold}
		c["login"] = map[string]any{"response_mode": "form_post"}
		c["cookie"] = map[string]any{"secure": false}
	}
}

// postHeaders sends the headers of a form POST to path and returns the context and action.
func (l *lh) postHeaders(path string, hdrs ...string) (uint32, types.Action) {
	h := [][2]string{{":method", "POST"}, {":path", path}, {":authority", "app.example.com"}, {":scheme", "https"},
		{"content-type", "application/x-www-form-urlencoded"}}
	for i := 0; i+1 < len(hdrs); i += 2 {
		h = append(h, [2]string{hdrs[i], hdrs[i+1]})
	}
	id := l.host.InitializeHttpContext()
	return id, l.host.CallOnRequestHeaders(id, h, false)
}

// With the setting, the two endpoints that read a body hold the headers (Pause, no local
// answer yet) and answer from the body; without it they let the headers continue (Envoy's
// default delivers no body to paused headers).
func TestBodyEndpointsHoldHeaders(t *testing.T) {
	for _, hold := range []bool{true, false} {
		t.Run(map[bool]string{true: "held", false: "continued"}[hold], func(t *testing.T) {
			want := map[bool]types.Action{true: types.ActionPause, false: types.ActionContinue}[hold]
			l := newLH(t, holdEndpoints(hold))
			l.ready()

			id, a := l.postHeaders("/oauth2/backchannel_logout")
			if a != want || l.host.GetSentLocalResponse(id) != nil {
				t.Fatalf("back-channel logout headers: %v, want %v and no answer yet", a, want)
			}
			l.host.CallOnRequestBody(id, oidc.LogoutTokenForm(l.logoutToken(nil, l.kid, nil)), true)
			if r := l.reply(id); r.status() != 200 {
				t.Fatalf("back-channel logout from the body: %d", r.status())
			}

			lg := l.startLogin("/app/x")
			id, a = l.postHeaders("/oauth2/callback", "cookie", lg.cookie)
			if a != want || l.host.GetSentLocalResponse(id) != nil {
				t.Fatalf("form post callback headers: %v, want %v and no answer yet", a, want)
			}
			l.host.CallOnRequestBody(id, []byte("code=c-1&state="+url.QueryEscape(lg.state)), true)
			if got := l.tokenCallout(lhReply{id: id}); got != "c-1" {
				t.Fatalf("form post callback: code sent %q", got)
			}
			if got := len(l.p.held); got != 0 {
				t.Errorf("%d requests still waiting for their body", got)
			}
		})
	}
}

// A held request whose body has not begun after holdBodyWait (a slow client, or an Envoy
// whose filter lacks allow_on_headers_stop_iteration) is answered 408 there: its headers never
// continue to the app, and the log says what happened.
func TestHeldHeadersWithoutBodyAnswered408(t *testing.T) {
	l := newLH(t, holdEndpoints(true))
	l.ready()
	lg := l.startLogin("/app/x")
	for _, tc := range []struct {
		path, contentType string
		hdrs              []string
	}{
		{"/oauth2/backchannel_logout", "application/json", nil},
		{"/oauth2/callback", "text/html", []string{"cookie", lg.cookie}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			l.advance(0) // the clock back to now (advance is an offset from the real clock)
			id, a := l.postHeaders(tc.path, tc.hdrs...)
			if a != types.ActionPause {
				t.Fatalf("headers: %v, want held", a)
			}
			l.host.Tick()
			if got := l.host.GetCurrentHttpStreamAction(id); got != types.ActionPause || l.host.GetSentLocalResponse(id) != nil {
				t.Fatalf("answered or continued before holdBodyWait: %v", got)
			}
			l.advance(holdBodyWait + time.Second)
			l.host.Tick()
			r := l.reply(id)
			if r.local == nil || r.status() != 408 || !strings.HasPrefix(r.header("content-type"), tc.contentType) {
				t.Fatalf("after holdBodyWait: action %v, local %+v, want a 408 %s answer", l.host.GetCurrentHttpStreamAction(id), r.local, tc.contentType)
			}
			if got := l.host.GetCurrentHttpStreamAction(id); got == types.ActionContinue {
				t.Error("the headers continued to the app")
			}
			logs := strings.Join(l.host.GetWarnLogs(), "\n")
			if !strings.Contains(logs, "no request body began") || !strings.Contains(logs, "answered 408") {
				t.Errorf("no log line saying what happened: %s", logs)
			}
			if got := len(l.p.held); got != 0 {
				t.Errorf("%d requests still held", got)
			}
		})
	}
}

// Under allow_on_headers_stop_iteration a body may come while the headers are held for a
// callout (here a refresh): the body must wait too, since Continue would send the headers
// before the refresh decided them.
func TestBodyWaitsWhileHeadersHeld(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	cookies := l.loginDefault()
	l.inRequest()
	l.advance(250 * time.Second) // at-123 expires within the refresh margin
	id, a := l.postHeaders("/api/x", "cookie", cookies)
	if a != types.ActionPause {
		t.Fatalf("request not held for the refresh: %v", a)
	}
	if a := l.host.CallOnRequestBody(id, []byte("a=1"), true); a != actionBodyWatermark {
		t.Fatalf("body while the headers wait for the refresh: %v, want StopIterationAndWatermark (2)", a)
	}
	l.answer(l.requestCallout(id, "/token"), "200", "application/json",
		tokenBody(map[string]any{"access_token": "at-456", "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt-456"}))
	if got := l.host.GetCurrentHttpStreamAction(id); got != types.ActionContinue {
		t.Fatalf("not resumed after the refresh: %v", got)
	}
	if got := l.upstream(id, "x-forwarded-access-token"); got != "at-456" {
		t.Errorf("upstream access token %q, want at-456", got)
	}
}
