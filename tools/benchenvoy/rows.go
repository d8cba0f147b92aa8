package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
)

// A row is one configuration under load: which process answers, which request it gets.
type row struct {
	name  string // short name, used by -rows and as a peer reference
	title string
	// peer is the row whose added CPU this row's is divided by (the native alternative).
	peer string
	// slow rows (a cold session, an uncached token) run -n-slow requests instead of -n.
	slow bool
	// forwarded is the header the app must receive for the row to count as served.
	forwarded string
	target    func(r *rig, v *variants, conc, n int) (target, error)
}

// target is a row made concrete for one run at one concurrency.
type target struct {
	base string // http://host:port
	pids []int  // the processes whose CPU the row costs
	req  Request
}

func (t target) addr() string { u, _ := url.Parse(t.base); return u.Host }

// variants are one run's fresh sessions and tokens, so that a "cold" row never meets what an
// earlier run left in a cache. The uncached jwt_authn row reuses the plugin's miss tokens of
// the same run (a different Envoy, which caches nothing).
type variants struct {
	run  int
	memo map[string][]string
}

func (v *variants) sessions(r *rig, conc, n int) ([]string, error) {
	k := fmt.Sprintf("sessions/%d", conc)
	if s, ok := v.memo[k]; ok && len(s) >= n {
		return s, nil
	}
	s, err := r.minter.MintN(fmt.Sprintf("bench-r%d-c%d", v.run, conc), n)
	v.memo[k] = s
	return s, err
}

func (v *variants) tokens(r *rig, conc, n int) ([]string, error) {
	k := fmt.Sprintf("tokens/%d", conc)
	if s, ok := v.memo[k]; ok && len(s) >= n {
		return s, nil
	}
	s, err := tokens(r.Iss, fmt.Sprintf("bench-r%d-c%d", v.run, conc), n)
	v.memo[k] = s
	return s, err
}

func host(e *envoy.Envoy) string { return strings.TrimPrefix(e.URL, "http://") }

func fixed(e *envoy.Envoy, head []byte) target {
	return target{base: e.URL, pids: []int{e.PID()}, req: Request{Head: head, Want: 200}}
}

var rows = []row{
	{name: "none", title: "Envoy, no filter",
		target: func(r *rig, _ *variants, _, _ int) (target, error) {
			return fixed(r.none, browserHead(host(r.none), "/app/page", r.pluginCookie)), nil
		}},
	{name: "noop", title: "no-op Go plugin, same SDK (floor)",
		target: func(r *rig, _ *variants, _, _ int) (target, error) {
			if r.noop == nil {
				return target{}, errSkip
			}
			return fixed(r.noop, browserHead(host(r.noop), "/app/page", r.pluginCookie)), nil
		}},
	{name: "shim", title: "no-op plugin making a warm session's host calls", forwarded: "X-Forwarded-Access-Token",
		target: func(r *rig, _ *variants, _, _ int) (target, error) {
			if r.shim == nil {
				return target{}, errSkip
			}
			return fixed(r.shim, browserHead(host(r.shim), "/app/page", r.pluginCookie)), nil
		}},
	{name: "shim-get", title: "the same, reading 8 selected headers one by one instead of all", forwarded: "X-Forwarded-Access-Token",
		target: func(r *rig, _ *variants, _, _ int) (target, error) {
			if r.shimGet == nil {
				return target{}, errSkip
			}
			return fixed(r.shimGet, browserHead(host(r.shimGet), "/app/page", r.pluginCookie)), nil
		}},
	{name: "shim-read", title: "the same, all headers read but one short header set instead of six",
		target: func(r *rig, _ *variants, _, _ int) (target, error) {
			if r.shimRead == nil {
				return target{}, errSkip
			}
			return fixed(r.shimRead, browserHead(host(r.shimRead), "/app/page", r.pluginCookie)), nil
		}},
	{name: "pass", title: "plugin, pass-through path",
		target: func(r *rig, _ *variants, _, _ int) (target, error) {
			return fixed(r.plugin, browserHead(host(r.plugin), "/healthz", r.pluginCookie)), nil
		}},
	{name: "warm", title: "plugin, warm session", peer: "oauth2", forwarded: "X-Forwarded-Access-Token",
		target: func(r *rig, _ *variants, _, _ int) (target, error) {
			return fixed(r.plugin, browserHead(host(r.plugin), "/app/page", r.pluginCookie)), nil
		}},
	{name: "cold", title: "plugin, cold session (new each request)", peer: "oauth2", slow: true, forwarded: "X-Forwarded-Access-Token",
		target: func(r *rig, v *variants, conc, n int) (target, error) {
			s, err := v.sessions(r, conc, n)
			t := fixed(r.plugin, browserHead(host(r.plugin), "/app/page", ""))
			t.req.Vary = varyCookie(s)
			return t, err
		}},
	{name: "bearer-hit", title: "plugin, bearer RS256, cached", peer: "jwt-cached", forwarded: "Authorization",
		target: func(r *rig, _ *variants, _, _ int) (target, error) {
			return fixed(r.plugin, apiHead(host(r.plugin), "/api/data", r.token)), nil
		}},
	{name: "bearer-miss", title: "plugin, bearer RS256, new token each request", peer: "jwt-uncached", slow: true, forwarded: "Authorization",
		target: func(r *rig, v *variants, conc, n int) (target, error) {
			s, err := v.tokens(r, conc, n)
			t := fixed(r.plugin, apiHead(host(r.plugin), "/api/data", ""))
			t.req.Vary = varyToken(s)
			return t, err
		}},
	{name: "oauth2", title: "Envoy oauth2 filter, valid session cookies", forwarded: "Authorization",
		target: func(r *rig, _ *variants, _, _ int) (target, error) {
			return fixed(r.oauth2, browserHead(host(r.oauth2), "/app/page", r.oauth2Cookie)), nil
		}},
	{name: "jwt-cached", title: "Envoy jwt_authn, remote JWKS, JWT cache", forwarded: "Authorization",
		target: func(r *rig, _ *variants, _, _ int) (target, error) {
			return fixed(r.jwt, apiHead(host(r.jwt), "/api/cached/data", r.token)), nil
		}},
	{name: "jwt-uncached", title: "Envoy jwt_authn, no JWT cache, new token each request", slow: true, forwarded: "Authorization",
		target: func(r *rig, v *variants, conc, n int) (target, error) {
			s, err := v.tokens(r, conc, n)
			t := fixed(r.jwt, apiHead(host(r.jwt), "/api/uncached/data", ""))
			t.req.Vary = varyToken(s)
			return t, err
		}},
	{name: "oauth2-proxy", title: "oauth2-proxy behind Envoy (no filter), cookie session", forwarded: "X-Forwarded-Access-Token",
		target: func(r *rig, _ *variants, _, _ int) (target, error) {
			if r.o2p == nil {
				return target{}, errSkip
			}
			t := fixed(r.o2pEdge, browserHead(host(r.o2pEdge), "/app/page", r.o2pCookie))
			t.pids = append(t.pids, r.o2p.PID())
			return t, nil
		}},
}

// also compares rows with oauth2-proxy, what users pick instead of a filter.
var alsoVersus = map[string]string{"warm": "oauth2-proxy", "bearer-hit": "oauth2-proxy"}

// altRows are the pass-through, warm session and cached bearer rows for another build of the
// plugin (-variant name=path): the same requests against its own Envoy.
func altRows(name string) []row {
	e := func(r *rig) (*envoy.Envoy, error) {
		if r.alt[name] == nil {
			return nil, errSkip
		}
		return r.alt[name], nil
	}
	return []row{
		{name: "pass@" + name, title: "plugin " + name + ", pass-through path",
			target: func(r *rig, _ *variants, _, _ int) (target, error) {
				a, err := e(r)
				if err != nil {
					return target{}, err
				}
				return fixed(a, browserHead(host(a), "/healthz", r.pluginCookie)), nil
			}},
		{name: "warm@" + name, title: "plugin " + name + ", warm session", peer: "oauth2", forwarded: "X-Forwarded-Access-Token",
			target: func(r *rig, _ *variants, _, _ int) (target, error) {
				a, err := e(r)
				if err != nil {
					return target{}, err
				}
				return fixed(a, browserHead(host(a), "/app/page", r.pluginCookie)), nil
			}},
		{name: "bearer-hit@" + name, title: "plugin " + name + ", bearer RS256, cached", peer: "jwt-cached", forwarded: "Authorization",
			target: func(r *rig, _ *variants, _, _ int) (target, error) {
				a, err := e(r)
				if err != nil {
					return target{}, err
				}
				return fixed(a, apiHead(host(a), "/api/data", r.token)), nil
			}},
	}
}
