package filter

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// The login-side filter tests run the plugin natively in the SDK's proxytest host. lh is
// their harness: one plugin context, its provider answered by hand.

const (
	lhIssuer = "https://op.example.com"
	lhClient = "app"
	lhSecret = "a-client-secret-that-is-long-enough-for-tests"
)

// lhConfig is a plugin configuration for the tests; edit changes the decoded JSON.
func lhConfig(t testing.TB, edit func(map[string]any)) []byte {
	t.Helper()
	c := map[string]any{
		"provider": map[string]any{"issuer": lhIssuer, "cluster": "oidc", "timeout": "2s", "jwks_min_refetch_interval": "30s"},
		"client":   map[string]any{"id": lhClient, "secret": lhSecret},
		"keys":     []any{map[string]any{"id": "k1", "secret": "VTqEc3pcA6FUq55WFYkShsvBJXsvJHBWmdHCJ41C1lE="}},
		"forward":  map[string]any{"access_token_header": "X-Forwarded-Access-Token"},
		"api":      map[string]any{"prefixes": []any{"/api/"}},
	}
	if edit != nil {
		edit(c)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lhVM is the VM context, keeping the plugin context for the test.
type lhVM struct {
	types.DefaultVMContext
	p *pluginContext
}

func (v *lhVM) NewPluginContext(id uint32) types.PluginContext {
	v.p = newPluginContext(id)
	return v.p
}

type lh struct {
	t    testing.TB
	host proxytest.HostEmulator
	p    *pluginContext
	key  *rsa.PrivateKey
	kid  string
	seen int // root callouts already answered or inspected
}

// newLH starts the plugin. The provider's metadata is not loaded: call ready.
func newLH(t testing.TB, edit func(map[string]any)) *lh {
	t.Helper()
	vm := &lhVM{}
	host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration(lhConfig(t, edit)))
	t.Cleanup(reset)
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("plugin start: %v; logs %v", st, host.GetCriticalLogs())
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	host.Tick() // the first tick sends the start-up fetches
	return &lh{t: t, host: host, p: vm.p, key: key, kid: "kid-1"}
}

// rootCallouts returns the callouts the root context sent since the last call.
func (l *lh) rootCallouts() []proxytest.HttpCalloutAttribute {
	all := l.host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	out := all[l.seen:]
	l.seen = len(all)
	return out
}

// expectCallout takes the single new root callout and checks its path.
func (l *lh) expectCallout(path string) proxytest.HttpCalloutAttribute {
	l.t.Helper()
	cs := l.rootCallouts()
	if len(cs) != 1 {
		l.t.Fatalf("%d new root callouts, want 1 to %s", len(cs), path)
	}
	if got := lhHeader(cs[0].Headers, ":path"); got != path {
		l.t.Fatalf("callout to %q, want %q", got, path)
	}
	return cs[0]
}

func (l *lh) answer(c proxytest.HttpCalloutAttribute, status string, contentType string, body string) {
	l.host.CallOnHttpCallResponse(c.CalloutID, [][2]string{{":status", status}, {"content-type", contentType}}, nil, []byte(body))
}

func (l *lh) discoveryJSON() string {
	b, _ := json.Marshal(map[string]any{
		"issuer": lhIssuer, "authorization_endpoint": lhIssuer + "/authorize", "token_endpoint": lhIssuer + "/token",
		"jwks_uri": lhIssuer + "/jwks", "userinfo_endpoint": lhIssuer + "/userinfo", "end_session_endpoint": lhIssuer + "/logout",
		"revocation_endpoint": lhIssuer + "/revoke", "response_types_supported": []string{"code"},
		"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
	})
	return string(b)
}

func (l *lh) jwksJSON() string {
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &l.key.PublicKey, KeyID: l.kid, Algorithm: "RS256", Use: "sig"}}})
	return string(b)
}

// ready answers the start-up discovery and JWKS callouts.
func (l *lh) ready() {
	l.t.Helper()
	l.answer(l.expectCallout("/.well-known/openid-configuration"), "200", "application/json", l.discoveryJSON())
	l.answer(l.expectCallout("/jwks"), "200", "application/json", l.jwksJSON())
	if !l.p.provider.ready() {
		l.t.Fatalf("provider not ready: %s", l.p.provider.notReadyReason())
	}
}

// lhReply is what a request got: the plugin's local response, or nil if it continued.
type lhReply struct {
	id     uint32
	action types.Action
	local  *proxytest.LocalHttpResponse
}

func (r lhReply) status() int {
	if r.local == nil {
		return 0
	}
	return int(r.local.StatusCode)
}

func (r lhReply) header(name string) string {
	if r.local == nil {
		return ""
	}
	return lhHeader(r.local.Headers, name)
}

func (r lhReply) headers(name string) []string {
	var out []string
	if r.local != nil {
		for _, h := range r.local.Headers {
			if h[0] == name {
				out = append(out, h[1])
			}
		}
	}
	return out
}

// request sends request headers (pseudo-headers from method and path) and returns the reply.
func (l *lh) request(method, path string, hdrs ...string) lhReply {
	l.t.Helper()
	h := [][2]string{{":method", method}, {":path", path}, {":authority", "app.example.com"}, {":scheme", "https"}}
	for i := 0; i+1 < len(hdrs); i += 2 {
		h = append(h, [2]string{strings.ToLower(hdrs[i]), hdrs[i+1]})
	}
	id := l.host.InitializeHttpContext()
	a := l.host.CallOnRequestHeaders(id, h, true)
	return lhReply{id: id, action: a, local: l.host.GetSentLocalResponse(id)}
}

// reply re-reads a request's local response (after a callout answered it).
func (l *lh) reply(id uint32) lhReply {
	return lhReply{id: id, action: l.host.GetCurrentHttpStreamAction(id), local: l.host.GetSentLocalResponse(id)}
}

// navigate is a browser navigation.
func (l *lh) navigate(path string, hdrs ...string) lhReply {
	return l.request("GET", path, append([]string{"accept", "text/html", "sec-fetch-mode", "navigate"}, hdrs...)...)
}

func (l *lh) counter(name string) uint64 {
	v, _ := l.host.GetCounterMetric(name)
	return v
}

// openState opens the state of an authorization redirect.
func (l *lh) openState(location string) (*state.LoginState, url.Values) {
	l.t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		l.t.Fatal(err)
	}
	q := u.Query()
	plain, err := l.p.sealer.Open(state.PurposeState, l.p.cfg.BindingCookieName(), q.Get("state"), time.Now())
	if err != nil {
		l.t.Fatalf("opening the state: %v", err)
	}
	ls := new(state.LoginState)
	if err := ls.UnmarshalBinary(plain); err != nil {
		l.t.Fatal(err)
	}
	return ls, q
}

func lhHeader(h [][2]string, name string) string {
	for _, kv := range h {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}

// lhCookies turns Set-Cookie values into a Cookie header (cleared cookies left out).
func lhCookies(setCookies []string) string {
	var parts []string
	for _, c := range setCookies {
		nv, _, _ := strings.Cut(c, ";")
		if strings.HasSuffix(nv, "=") {
			continue
		}
		parts = append(parts, nv)
	}
	return strings.Join(parts, "; ")
}
