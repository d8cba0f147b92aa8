package oidc

import "testing"

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

func TestIsAPIRequest(t *testing.T) {
	nav := RequestInfo{Method: "GET", Path: "/app", Accept: browserAccept, SecFetchMode: "navigate", SecFetchDest: "document"}
	with := func(f func(r *RequestInfo)) RequestInfo {
		r := nav
		f(&r)
		return r
	}
	prefixes := []string{"/api", "/graphql/"}
	tests := []struct {
		name     string
		r        RequestInfo
		detect   bool
		prefixes []string
		want     bool
	}{
		{"browser navigation", nav, true, prefixes, false},
		{"navigation without fetch metadata", RequestInfo{Method: "GET", Path: "/", Accept: browserAccept}, true, nil, false},
		{"curl default accept", RequestInfo{Method: "GET", Path: "/", Accept: "*/*"}, true, nil, false},
		{"no headers at all", RequestInfo{Method: "GET", Path: "/"}, true, nil, false},
		{"head navigation", with(func(r *RequestInfo) { r.Method = "HEAD" }), true, nil, false},
		{"iframe navigation", with(func(r *RequestInfo) { r.SecFetchDest = "iframe" }), true, nil, false},
		{"api prefix", with(func(r *RequestInfo) { r.Path = "/api/v1/items?x=1" }), false, prefixes, true},
		{"api prefix exact", with(func(r *RequestInfo) { r.Path = "/api" }), false, prefixes, true},
		{"api prefix with query", with(func(r *RequestInfo) { r.Path = "/api?x=1" }), false, prefixes, true},
		{"api prefix is segment-wise", with(func(r *RequestInfo) { r.Path = "/apix/page" }), true, prefixes, false},
		{"prefix with trailing slash", with(func(r *RequestInfo) { r.Path = "/graphql/q" }), false, prefixes, true},
		{"prefix only in query", with(func(r *RequestInfo) { r.Path = "/app?/api/x" }), false, prefixes, false},
		{"fetch mode cors", with(func(r *RequestInfo) { r.SecFetchMode = "cors"; r.SecFetchDest = "empty"; r.Accept = "*/*" }), true, nil, true},
		{"fetch mode no-cors image", with(func(r *RequestInfo) { r.SecFetchMode = "no-cors"; r.SecFetchDest = "image" }), true, nil, true},
		{"fetch mode ignored without detect", with(func(r *RequestInfo) { r.SecFetchMode = "cors" }), false, prefixes, false},
		{"dest empty without mode", RequestInfo{Method: "GET", Path: "/", SecFetchDest: "empty"}, true, nil, true},
		{"x-requested-with", with(func(r *RequestInfo) { r.SecFetchMode = ""; r.XRequestedWith = "XMLHttpRequest" }), true, nil, true},
		{"post form navigation", with(func(r *RequestInfo) { r.Method = "POST" }), true, nil, true},
		{"delete", RequestInfo{Method: "DELETE", Path: "/x"}, true, nil, true},
		{"bearer", RequestInfo{Method: "GET", Path: "/", Authorization: "Bearer eyJ.a.b"}, true, nil, true},
		{"bearer lower-case scheme", RequestInfo{Method: "GET", Path: "/", Authorization: "bearer abc"}, true, nil, true},
		{"basic is not bearer", RequestInfo{Method: "GET", Path: "/", Authorization: "Basic abc", Accept: browserAccept}, true, nil, false},
		{"empty bearer", RequestInfo{Method: "GET", Path: "/", Authorization: "Bearer "}, true, nil, false},
		{"accept json", RequestInfo{Method: "GET", Path: "/", Accept: "application/json"}, true, nil, true},
		{"axios accept", RequestInfo{Method: "GET", Path: "/", Accept: "application/json, text/plain, */*"}, true, nil, true},
		{"problem+json", RequestInfo{Method: "GET", Path: "/", Accept: "application/problem+json"}, true, nil, true},
		{"json ranked below html", RequestInfo{Method: "GET", Path: "/", Accept: "application/json;q=0.5, text/html"}, true, nil, false},
		{"html refused", RequestInfo{Method: "GET", Path: "/", Accept: "text/html;q=0, */*"}, true, nil, true},
		{"json refused", RequestInfo{Method: "GET", Path: "/", Accept: "application/json;q=0, */*"}, true, nil, false},
		{"json with html equal, html listed too", RequestInfo{Method: "GET", Path: "/", Accept: "text/html, application/json"}, true, nil, false},
		{"accept json ignored without detect", RequestInfo{Method: "GET", Path: "/", Accept: "application/json"}, false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsAPIRequest(tt.r, tt.detect, tt.prefixes); got != tt.want {
				t.Fatalf("IsAPIRequest(%+v) = %v, want %v", tt.r, got, tt.want)
			}
		})
	}
}

func TestWWWAuthenticate(t *testing.T) {
	tests := []struct {
		name, realm, code, desc string
		want                    string
	}{
		{"bare", "", "", "", "Bearer"},
		{"realm only", "app", "", "", `Bearer realm="app"`},
		{"rfc 6750 example", "example", "invalid_token", "The access token expired",
			`Bearer realm="example", error="invalid_token", error_description="The access token expired"`},
		{"no realm", "", "invalid_request", "", `Bearer error="invalid_request"`},
		{"realm escaping", `a"b\c`, "", "", `Bearer realm="a\"b\\c"`},
		{"description drops quotes and backslashes", "r", "invalid_token", `bad "sig" \ here`,
			`Bearer realm="r", error="invalid_token", error_description="bad sig  here"`},
		{"header injection", "r\r\nSet-Cookie: x", "invalid_token\r\n", "d\r\ne",
			`Bearer realm="r Set-Cookie: x", error="invalid_token", error_description="d e"`},
		{"non-ascii dropped", "r", "", "caf\u00e9 ok", `Bearer realm="r", error_description="caf ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WWWAuthenticate(tt.realm, tt.code, tt.desc); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
