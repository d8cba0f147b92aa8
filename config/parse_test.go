package config

import (
	"strings"
	"testing"
)

// TestParse runs configurations (merge patches over testdata/minimal.json,
// or whole documents when raw is set) and checks that Parse accepts them, or
// reports expectErr as one of its problems.
func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		config    string // merge patch over minimal.json
		raw       string // the whole document instead
		expectErr string // a whole "path: msg" line, or its beginning; "" means valid
	}{
		// Valid configurations.
		{name: "minimal", config: `{}`},
		{name: "loopback http provider with insecure_allow_http", config: `{"provider":{"issuer":"http://127.0.0.1:9000/op","insecure_allow_http":true}}`},
		{name: "static endpoints without discovery", config: `{"provider":{"discovery":false,"authorization_endpoint":"https://op/auth","token_endpoint":"https://op/token?tenant=a","jwks_uri":"https://op/keys"}}`},
		{name: "client_secret_post", config: `{"client":{"auth_method":"client_secret_post"}}`},
		{name: "url-safe unpadded key and a second key", config: `{"keys":[{"id":"new","secret":"ZqIPG8Yl743hWnpJnBfsq3MsEw0l-tYY9LIU0mVIA2Z36j7BPcjsJEvyai5oV5nS"},{"id":"old","secret":"VTqEc3pcA6FUq55WFYkShsvBJXsvJHBWmdHCJ41C1lE"}]}`},
		{name: "SameSite None with Secure", config: `{"cookie":{"same_site":"None"}}`},
		{name: "same_site in lower case", config: `{"cookie":{"same_site":"strict"}}`},
		{name: "__Host- cookie", config: `{"cookie":{"name":"__Host-session"}}`},
		{name: "cookie domain covers redirect host", config: `{"cookie":{"domain":".Example.com"},"redirect_url":"https://apps.example.com/cb"}`},
		{name: "loopback http redirect_url", config: `{"redirect_url":"http://localhost:8080/oauth2/callback"}`},
		{name: "post logout path", config: `{"post_logout_redirect_url":"/bye?x=1"}`},
		{name: "post logout URL", config: `{"post_logout_redirect_url":"https://apps.example.com/"}`},
		{name: "extra auth params", config: `{"extra_auth_params":{"access_type":"offline","prompt":"consent","login_hint":"a@b.c"}}`},
		{name: "HMAC with a long secret", config: `{"jwt":{"allow_hmac":true},"client":{"secret":"0123456789012345678901234567890123456789012345678901234567890123"}}`},
		{name: "loop guard off", config: `{"login":{"loop_guard":{"max_attempts":0}}}`},
		{name: "bearer route", config: `{"bearer_issuers":[{"name":"corp","issuer":"https://login.example.com/","cluster":"op","audiences":["api://x"]}],
			"routes":[{"name":"api","match":{"prefix":"/api/"},"auth":"bearer","bearer_issuers":["corp"],"authorization":{"scopes":["read"]}}]}`},
		{name: "same prefix, disjoint methods", config: `{"routes":[{"name":"a","match":{"prefix":"/x/","methods":["GET"]}},{"name":"b","match":{"prefix":"/x/","methods":["POST"]}}]}`},
		{name: "same prefix, different hosts", config: `{"routes":[{"name":"a","match":{"prefix":"/x/","host":"a.example.com"}},{"name":"b","match":{"prefix":"/x/","host":"*.example.com"}}]}`},
		{name: "exchange at its own token endpoint", config: `{"routes":[{"name":"g","match":{"prefix":"/g/"},"exchange":{"type":"entra_obo","scope":"api://x/.default","token_endpoint":"https://login.microsoftonline.com/t/oauth2/v2.0/token?x=1","cluster":"entra"}}]}`},
		{name: "entra obo", config: `{"routes":[{"name":"g","match":{"prefix":"/g/"},"exchange":{"type":"entra_obo","scope":"api://x/.default"}}]}`},
		{name: "exchange into a custom header", config: `{"routes":[{"name":"g","match":{"prefix":"/g/"},"exchange":{"type":"rfc8693","resource":"https://db.example.com/","header":"X-DB-Token"}}]}`},
		{name: "log level in capitals", config: `{"log_level":"DEBUG"}`},
		{name: "introspect at login", config: `{"login":{"introspect":{"enabled":true,"require_sub":false,"require_scopes":["openid","email"]}},"endpoints":{"backchannel_logout":true}}`},
		{name: "introspect with a static endpoint", config: `{"provider":{"discovery":false,"authorization_endpoint":"https://op/auth","token_endpoint":"https://op/token","jwks_uri":"https://op/keys","introspection_endpoint":"https://op/introspect"},"login":{"introspect":{"enabled":true}}}`},
		{name: "compose service host over http", config: `{"provider":{"issuer":"http://oidc_op:9000/","insecure_allow_http":true,"authority":"oidc_op:9000"}}`},

		// The document itself.
		{name: "empty", raw: ``, expectErr: "config: empty configuration"},
		{name: "whitespace only", raw: " \n\t", expectErr: "config: empty configuration"},
		{name: "not an object", raw: `["provider"]`, expectErr: "config: the configuration must be a JSON object, not an array"},
		{name: "invalid UTF-8", raw: "{\"prefix\":\"/\xff\"}", expectErr: "config: not valid UTF-8 (offset 12, line 1, column 13)"},
		{name: "syntax error names path and position", raw: "{\"provider\": {\n  \"issuer\": }}", expectErr: "provider.issuer: invalid JSON: invalid character '}' looking for beginning of value (offset 27, line 2, column 13)"},
		{name: "truncated", raw: `{"provider": {"issuer": "x"`, expectErr: "provider: invalid JSON: unexpected end of input (offset 27"},
		{name: "trailing data", raw: `{} {}`, expectErr: "config: unexpected data after the configuration object"},
		{name: "duplicate key", raw: `{"prefix":"/a","prefix":"/b"}`, expectErr: "prefix: duplicate key"},
		{name: "nested too deeply", raw: `{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, expectErr: "x[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested too deeply"},

		// Keys and types.
		{name: "unknown top-level key", config: `{"cookies":{}}`, expectErr: `cookies: unknown key (did you mean "cookie"?)`},
		{name: "unknown nested key", config: `{"provider":{"issur":"x"}}`, expectErr: `provider.issur: unknown key (did you mean "issuer"?)`},
		{name: "unknown key in an array element", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"extra":1}]}`, expectErr: "routes[0].extra: unknown key"},
		{name: "odd unknown key is quoted", config: `{"a b":1}`, expectErr: `["a b"]: unknown key`},
		{name: "string for a duration", config: `{"session":{"lifetime":3600}}`, expectErr: "session.lifetime: must be a string, not a number"},
		{name: "null", config: `{"cookie":{"secure":"yes"}}`, expectErr: "cookie.secure: must be true or false, not a string"},
		{name: "explicit null", raw: `{"prefix":null}`, expectErr: "prefix: must not be null (omit the key to use the default)"},
		{name: "fraction for an integer", config: `{"cookie":{"max_chunks":1.5}}`, expectErr: "cookie.max_chunks: must be an integer in range, not 1.5"},
		{name: "object for an array", config: `{"scopes":{"openid":true}}`, expectErr: "scopes: must be an array, not an object"},
		{name: "number in a string array", config: `{"scopes":["openid",7]}`, expectErr: "scopes[1]: must be a string, not a number"},
		{name: "type error is not also reported as missing", config: `{"client":{"id":5}}`, expectErr: "client.id: must be a string, not a number"},

		// provider
		{name: "issuer required", config: `{"provider":{"issuer":null}}`, expectErr: "provider.issuer: required"},
		{name: "issuer over http", config: `{"provider":{"issuer":"http://login.example.com"}}`, expectErr: "provider.issuer: must use https (http only with provider.insecure_allow_http, which MUST NOT be used in production)"},
		{name: "issuer relative", config: `{"provider":{"issuer":"login.example.com/realms/x"}}`, expectErr: "provider.issuer: must be an absolute URL like https://host/path"},
		{name: "issuer with query", config: `{"provider":{"issuer":"https://login.example.com/?x=1"}}`, expectErr: "provider.issuer: must not have a query"},
		{name: "issuer with fragment", config: `{"provider":{"issuer":"https://login.example.com/#x"}}`, expectErr: "provider.issuer: must not have a fragment"},
		{name: "issuer with user info", config: `{"provider":{"issuer":"https://u:p@login.example.com/"}}`, expectErr: "provider.issuer: must not contain user information"},
		{name: "issuer ftp", config: `{"provider":{"issuer":"ftp://login.example.com/"}}`, expectErr: "provider.issuer: must be an https URL"},
		{name: "issuer with bad port", config: `{"provider":{"issuer":"https://login.example.com:99999/"}}`, expectErr: "provider.issuer: host must be host or host:port (port 1-65535)"},
		{name: "no discovery needs endpoints", config: `{"provider":{"discovery":false,"authorization_endpoint":"https://op/a"}}`, expectErr: "provider.token_endpoint: required when provider.discovery is false"},
		{name: "no discovery needs jwks_uri", config: `{"provider":{"discovery":false,"authorization_endpoint":"https://op/a","token_endpoint":"https://op/t"}}`, expectErr: "provider.jwks_uri: required when provider.discovery is false"},
		{name: "endpoint over http", config: `{"provider":{"userinfo_endpoint":"http://op/u"}}`, expectErr: "provider.userinfo_endpoint: must use https"},
		{name: "cluster required", config: `{"provider":{"cluster":null}}`, expectErr: "provider.cluster: required"},
		{name: "cluster with spaces", config: `{"provider":{"cluster":"my cluster"}}`, expectErr: "provider.cluster: must be an Envoy cluster name: printable ASCII, no spaces"},
		{name: "bad jwks cluster", config: `{"provider":{"jwks_cluster":"a b"}}`, expectErr: "provider.jwks_cluster: must be an Envoy cluster name"},
		{name: "bad authority", config: `{"provider":{"authority":"https://op"}}`, expectErr: "provider.authority: must be host or host:port"},
		{name: "timeout too short", config: `{"provider":{"timeout":"10ms"}}`, expectErr: "provider.timeout: must be between 100ms and 1m"},
		{name: "timeout not a duration", config: `{"provider":{"timeout":"5 seconds"}}`, expectErr: `provider.timeout: must be a duration like "30s", "5m" or "1h"`},
		{name: "jwks refetch too long", config: `{"provider":{"jwks_min_refetch_interval":"2h"}}`, expectErr: "provider.jwks_min_refetch_interval: must be between 1s and 1h"},

		// client
		{name: "client id required", config: `{"client":{"id":null}}`, expectErr: "client.id: required"},
		{name: "client secret required", config: `{"client":{"secret":""}}`, expectErr: "client.secret: required"},
		{name: "client secret with newline", config: `{"client":{"secret":"abc\ndef"}}`, expectErr: "client.secret: must not contain control characters"},
		{name: "exchange token endpoint over http", config: `{"routes":[{"name":"g","match":{"prefix":"/g/"},"exchange":{"type":"entra_obo","scope":"api://x/.default","token_endpoint":"http://login.example.com/token"}}]}`, expectErr: "routes[0].exchange.token_endpoint: must use https (http only with provider.insecure_allow_http"},
		{name: "exchange token endpoint relative", config: `{"routes":[{"name":"g","match":{"prefix":"/g/"},"exchange":{"type":"entra_obo","scope":"api://x/.default","token_endpoint":"/entra/token"}}]}`, expectErr: "routes[0].exchange.token_endpoint: must be an absolute URL"},
		{name: "auth method", config: `{"client":{"auth_method":"tls_client_auth_x"}}`, expectErr: `client.auth_method: must be one of client_secret_basic, client_secret_post, private_key_jwt, client_secret_jwt, tls_client_auth, self_signed_tls_client_auth (not "tls_client_auth_x")`},

		// endpoints and redirects
		{name: "prefix without slash", config: `{"prefix":"oauth2"}`, expectErr: "prefix: must start with /"},
		{name: "prefix with trailing slash", config: `{"prefix":"/oauth2/"}`, expectErr: "prefix: must not end with /"},
		{name: "prefix root", config: `{"prefix":"/"}`, expectErr: "prefix: must not end with /"},
		{name: "prefix with dot segment", config: `{"prefix":"/a/../b"}`, expectErr: "prefix: must be a normalized path"},
		{name: "prefix with query", config: `{"prefix":"/a?b"}`, expectErr: "prefix: may hold only"},
		{name: "redirect over http", config: `{"redirect_url":"http://apps.example.com/cb"}`, expectErr: "redirect_url: must use https (http only for loopback hosts, or with provider.insecure_allow_http)"},
		{name: "redirect at root", config: `{"redirect_url":"https://apps.example.com/"}`, expectErr: "redirect_url: its path must be a plain, normalized path other than /"},
		{name: "redirect onto sign_in", config: `{"redirect_url":"https://apps.example.com/oauth2/sign_in"}`, expectErr: `redirect_url: its path "/oauth2/sign_in" is already another endpoint's`},
		{name: "post logout protocol-relative", config: `{"post_logout_redirect_url":"//evil.example"}`, expectErr: "post_logout_redirect_url: must be an absolute URL or a path starting with a single /"},
		{name: "post logout relative", config: `{"post_logout_redirect_url":"bye"}`, expectErr: "post_logout_redirect_url: must be an absolute URL"},

		// scopes and parameters
		{name: "scopes without openid", config: `{"scopes":["profile"]}`, expectErr: `scopes: must contain "openid"`},
		{name: "scope with space", config: `{"scopes":["openid","a b"]}`, expectErr: "scopes[1]: must be an RFC 6749 scope token"},
		{name: "duplicate scope", config: `{"scopes":["openid","email","openid"]}`, expectErr: "scopes[2]: duplicate scope (also scopes[0])"},
		{name: "reserved auth param", config: `{"extra_auth_params":{"state":"x"}}`, expectErr: `extra_auth_params["state"]: reserved: the filter sets this parameter itself`},
		{name: "reserved response_mode", config: `{"extra_auth_params":{"response_mode":"form_post"}}`, expectErr: `extra_auth_params["response_mode"]: reserved`},
		{name: "bad auth param name", config: `{"extra_auth_params":{"a b":"x"}}`, expectErr: `extra_auth_params["a b"]: the name must be`},
		{name: "allowed host with a path", config: `{"allowed_hosts":["apps.example.com/x"]}`, expectErr: "allowed_hosts[0]: must be host or host:port"},
		{name: "duplicate allowed host", config: `{"allowed_hosts":["apps.example.com","Apps.Example.com"]}`, expectErr: "allowed_hosts[1]: duplicate host (also allowed_hosts[0])"},
		{name: "acr_values in extra auth params", config: `{"extra_auth_params":{"acr_values":"gold"}}`, expectErr: `extra_auth_params["acr_values"]: use login.acr_values, which also checks the ID token's acr`},
		{name: "max_age in extra auth params", config: `{"extra_auth_params":{"max_age":"60"}}`, expectErr: `extra_auth_params["max_age"]: use session.max_age, which also checks the ID token's auth_time`},
		{name: "acr value with a space", config: `{"login":{"acr_values":["gold","a b"]}}`, expectErr: "login.acr_values[1]: must be 1 to 256 characters"},
		{name: "duplicate acr value", config: `{"login":{"acr_values":["gold","gold"]}}`, expectErr: "login.acr_values[1]: duplicate value (also login.acr_values[0])"},
		{name: "auth param must be a string", config: `{"extra_auth_params":{"max_age":60}}`, expectErr: `extra_auth_params["max_age"]: must be a string, not a number`},

		// keys
		{name: "keys required", config: `{"keys":null}`, expectErr: "keys: required: at least one key of 32 or more random bytes, base64"},
		{name: "keys empty", config: `{"keys":[]}`, expectErr: "keys: required"},
		{name: "short key", config: `{"keys":[{"id":"k1","secret":"MDEyMzQ1Njc4OWFiY2RlZg=="}]}`, expectErr: "keys[0].secret: decodes to 16 bytes, need at least 32"},
		{name: "key not base64", config: `{"keys":[{"id":"k1","secret":"not base64 at all!"}]}`, expectErr: "keys[0].secret: must be base64 (standard or URL alphabet, padding optional)"},
		{name: "key secret missing", config: `{"keys":[{"id":"k1"}]}`, expectErr: "keys[0].secret: required"},
		{name: "key id too long", config: `{"keys":[{"id":"abcdefghijklmnopq","secret":"VTqEc3pcA6FUq55WFYkShsvBJXsvJHBWmdHCJ41C1lE="}]}`, expectErr: "keys[0].id: must match [A-Za-z0-9_-]{1,16}"},
		{name: "duplicate key id", config: `{"keys":[{"id":"k","secret":"VTqEc3pcA6FUq55WFYkShsvBJXsvJHBWmdHCJ41C1lE="},{"id":"k","secret":"VTqEc3pcA6FUq55WFYkShsvBJXsvJHBWmdHCJ41C1lE="}]}`, expectErr: "keys[1].id: duplicate key id (also keys[0].id)"},

		// cookie
		{name: "cookie name", config: `{"cookie":{"name":"my session"}}`, expectErr: "cookie.name: must match [A-Za-z0-9_-]+"},
		{name: "SameSite None without Secure", config: `{"cookie":{"same_site":"None","secure":false}}`, expectErr: "cookie.same_site: None requires cookie.secure"},
		{name: "SameSite unknown", config: `{"cookie":{"same_site":"Relaxed"}}`, expectErr: `cookie.same_site: must be one of Lax, Strict, None (not "Relaxed")`},
		{name: "chunk size", config: `{"cookie":{"max_chunk_size":5000}}`, expectErr: "cookie.max_chunk_size: must be between 1024 and 4093"},
		{name: "chunks", config: `{"cookie":{"max_chunks":0}}`, expectErr: "cookie.max_chunks: must be between 1 and 32"},
		{name: "chunks beyond cookie limit", config: `{"cookie":{"max_chunks":16}}`, expectErr: "cookie.max_chunks: cookie.max_chunk_size × cookie.max_chunks = 60800 bytes, more than limits.max_cookie_bytes (32768)"},
		{name: "__Host- with path", config: `{"cookie":{"name":"__Host-s","path":"/app"},"prefix":"/app/oauth2"}`, expectErr: "cookie.path: a cookie named __Host-* requires path /"},
		{name: "__Host- with domain", config: `{"cookie":{"name":"__Host-s","domain":"example.com"}}`, expectErr: "cookie.domain: a cookie named __Host-* must not have a domain"},
		{name: "__Secure- without secure", config: `{"cookie":{"name":"__Secure-s","secure":false}}`, expectErr: "cookie.secure: a cookie named __Secure-* requires cookie.secure"},
		{name: "cookie domain with port", config: `{"cookie":{"domain":"example.com:443"}}`, expectErr: "cookie.domain: must be a domain name"},
		{name: "cookie domain misses redirect host", config: `{"cookie":{"domain":"example.org"},"redirect_url":"https://apps.example.com/cb"}`, expectErr: `cookie.domain: "example.org" does not cover the redirect_url host`},
		{name: "cookie path misses endpoints", config: `{"cookie":{"path":"/app"}}`, expectErr: `cookie.path: "/app" does not cover the endpoints under prefix "/oauth2"`},
		{name: "cookie path misses callback", config: `{"cookie":{"path":"/app"},"prefix":"/app/oauth2","redirect_url":"https://x.example/cb"}`, expectErr: `cookie.path: "/app" does not cover the callback path "/cb"`},
		{name: "cookie path is not a segment prefix", config: `{"cookie":{"path":"/oauth"}}`, expectErr: `cookie.path: "/oauth" does not cover`},

		// session and login
		{name: "refresh margin not shorter than lifetime", config: `{"session":{"lifetime":"1m","refresh_margin":"1m"}}`, expectErr: "session.refresh_margin: must be shorter than session.lifetime"},
		{name: "lifetime too long", config: `{"session":{"lifetime":"1000h"}}`, expectErr: "session.lifetime: must be between 1m and 720h"},
		{name: "id_token_expired", config: `{"session":{"id_token_expired":"keep"}}`, expectErr: "session.id_token_expired: must be one of omit, reauthenticate"},
		{name: "cache size", config: `{"session":{"cache_size":-1}}`, expectErr: "session.cache_size: must be between 0 and 1000000"},
		{name: "max_age too short", config: `{"session":{"max_age":"5s"}}`, expectErr: "session.max_age: must be between 10s and 720h"},
		{name: "max_age not a duration", config: `{"session":{"max_age":"1 day"}}`, expectErr: "session.max_age: must be a duration"},
		{name: "request object without a key", config: `{"login":{"request_object":"signed"}}`, expectErr: "login.request_object: signed needs the client's private key"},
		{name: "request object value", config: `{"login":{"request_object":"unsigned"}}`, expectErr: "login.request_object: must be one of none, signed"},
		{name: "par value", config: `{"login":{"par":"yes"}}`, expectErr: "login.par: must be one of auto, always, never"},
		{name: "par endpoint over http", config: `{"provider":{"pushed_authorization_request_endpoint":"http://login.example.com/par"}}`, expectErr: "provider.pushed_authorization_request_endpoint: must use https"},
		{name: "state lifetime", config: `{"login":{"state_lifetime":"2h"}}`, expectErr: "login.state_lifetime: must be between 30s and 1h"},
		{name: "response mode", config: `{"login":{"response_mode":"fragment"}}`, expectErr: "login.response_mode: must be one of query, form_post, query.jwt, form_post.jwt, jwt (not \"fragment\")"},
		{name: "loop guard attempts", config: `{"login":{"loop_guard":{"max_attempts":101}}}`, expectErr: "login.loop_guard.max_attempts: must be between 0 and 100"},
		{name: "loop guard window", config: `{"login":{"loop_guard":{"window":"1s"}}}`, expectErr: "login.loop_guard.window: must be between 10s and 1h"},
		{name: "duplicate kept claim", config: `{"login":{"claims":["sub","email","email"]}}`, expectErr: "login.claims[2]: duplicate claim (also login.claims[1])"},
		{name: "empty claim name", config: `{"login":{"claims":[""]}}`, expectErr: "login.claims[0]: must not be empty"},

		// forward
		{name: "pseudo-header", config: `{"forward":{"access_token_header":":path"}}`, expectErr: "forward.access_token_header: pseudo-headers are not allowed"},
		{name: "header not a token", config: `{"forward":{"id_token_header":"X Id"}}`, expectErr: "forward.id_token_header: must be an HTTP header name (RFC 7230 token)"},
		{name: "authorization as a forward header", config: `{"forward":{"access_token_header":"Authorization"}}`, expectErr: "forward.access_token_header: use forward.authorization_bearer"},
		{name: "framing header", config: `{"forward":{"claims":{"Content-Length":"sub"}}}`, expectErr: `forward.claims["Content-Length"]: must not be "content-length": it frames the request`},
		{name: "cookie header", config: `{"forward":{"id_token_header":"Cookie"}}`, expectErr: `forward.id_token_header: must not be "cookie"`},
		{name: "duplicate header, any case", config: `{"forward":{"claims":{"x-forwarded-ACCESS-token":"sub"}}}`, expectErr: `forward.claims["x-forwarded-ACCESS-token"]: duplicate header (also forward.access_token_header)`},
		{name: "claim not kept", config: `{"forward":{"claims":{"X-Tenant":"tid"}}}`, expectErr: `forward.claims["X-Tenant"]: claim "tid" is not kept in sessions; add it to login.claims`},
		{name: "strip host", config: `{"forward":{"strip":["Host"]}}`, expectErr: `forward.strip[0]: must not be "host"`},
		{name: "strip duplicate", config: `{"forward":{"strip":["X-A","x-a"]}}`, expectErr: "forward.strip[1]: duplicate header (also forward.strip[0])"},

		// pass_through, api, endpoints
		{name: "pass-through with both", config: `{"pass_through":[{"path":"/a","prefix":"/b"}]}`, expectErr: "pass_through[0]: set exactly one of path and prefix"},
		{name: "pass-through with neither", config: `{"pass_through":[{"methods":["GET"]}]}`, expectErr: "pass_through[0]: set exactly one of path and prefix"},
		{name: "pass-through lower-case method", config: `{"pass_through":[{"path":"/a","methods":["get"]}]}`, expectErr: "pass_through[0].methods[0]: must be an upper-case HTTP method like GET"},
		{name: "pass-through unnormalized prefix", config: `{"pass_through":[{"prefix":"/public//x"}]}`, expectErr: "pass_through[0].prefix: must be a normalized path"},
		{name: "api prefix", config: `{"api":{"prefixes":["api/"]}}`, expectErr: "api.prefixes[0]: must start with /"},
		{name: "refresh token without token endpoint", config: `{"endpoints":{"token_include_refresh_token":true}}`, expectErr: "endpoints.token_include_refresh_token: requires endpoints.token"},
		{name: "introspect scopes without introspect", config: `{"login":{"introspect":{"require_scopes":["email"]}}}`, expectErr: "login.introspect.require_scopes: requires login.introspect.enabled"},
		{name: "introspect without discovery or endpoint", config: `{"provider":{"discovery":false,"authorization_endpoint":"https://op/auth","token_endpoint":"https://op/token","jwks_uri":"https://op/keys"},"login":{"introspect":{"enabled":true}}}`, expectErr: "login.introspect.enabled: needs provider.introspection_endpoint when provider.discovery is false"},
		{name: "introspect bad scope", config: `{"login":{"introspect":{"enabled":true,"require_scopes":["a b"]}}}`, expectErr: "login.introspect.require_scopes[0]: must be an RFC 6749 scope token"},
		{name: "introspect duplicate scope", config: `{"login":{"introspect":{"enabled":true,"require_scopes":["a","a"]}}}`, expectErr: "login.introspect.require_scopes[1]: "},
		{name: "redirect_url on the backchannel path", config: `{"redirect_url":"https://apps.example.com/oauth2/backchannel_logout"}`, expectErr: "redirect_url: its path \"/oauth2/backchannel_logout\" is already another endpoint's"},
		{name: "offline only without refresh token", config: `{"endpoints":{"token":true,"token_refresh_token_offline_only":true}}`, expectErr: "endpoints.token_refresh_token_offline_only: requires endpoints.token_include_refresh_token"},

		// jwt
		{name: "alg none", config: `{"jwt":{"algorithms":["RS256","none"]}}`, expectErr: `jwt.algorithms[1]: "none" is never allowed`},
		{name: "HS256 without allow_hmac", config: `{"jwt":{"algorithms":["HS256"]}}`, expectErr: "jwt.algorithms[0]: HS256 requires jwt.allow_hmac"},
		{name: "unknown algorithm", config: `{"jwt":{"algorithms":["RS1"]}}`, expectErr: `jwt.algorithms[0]: unknown algorithm "RS1"`},
		{name: "Ed25519 (RFC 9864)", config: `{"jwt":{"algorithms":["Ed25519"]}}`},
		{name: "bearer Ed25519", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c","audiences":["x"],"algorithms":["Ed25519","EdDSA"]}]}`},
		{name: "Ed448", config: `{"jwt":{"algorithms":["Ed25519","Ed448"]}}`, expectErr: "jwt.algorithms[1]: Ed448 is not supported (EdDSA and Ed25519 are, with Ed25519 keys)"},
		{name: "bearer Ed448", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c","audiences":["x"],"algorithms":["Ed448"]}]}`, expectErr: "bearer_issuers[0].algorithms[0]: Ed448 is not supported"},
		{name: "empty algorithms", config: `{"jwt":{"algorithms":[]}}`, expectErr: "jwt.algorithms: must not be empty"},
		{name: "leeway", config: `{"jwt":{"leeway":"10m"}}`, expectErr: "jwt.leeway: must be between 0s and 5m"},
		{name: "HMAC with short secret", config: `{"jwt":{"allow_hmac":true},"client":{"secret":"0123456789"}}`, expectErr: "jwt.allow_hmac: HS256 needs a client.secret of at least 32 bytes"},
		{name: "HS512 with short secret", config: `{"jwt":{"allow_hmac":true,"algorithms":["RS256","HS512"]}}`, expectErr: "jwt.algorithms[1]: HS512 needs a client.secret of at least 64 bytes"},

		// bearer issuers
		{name: "bearer issuer name", config: `{"bearer_issuers":[{"name":"a b","issuer":"https://i/","cluster":"c","audiences":["x"]}]}`, expectErr: "bearer_issuers[0].name: must match [A-Za-z0-9_-]{1,64}"},
		{name: "bearer issuer duplicate name", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c","audiences":["x"]},{"name":"a","issuer":"https://j/","cluster":"c","audiences":["x"]}]}`, expectErr: "bearer_issuers[1].name: duplicate bearer issuer name (also bearer_issuers[0].name)"},
		{name: "bearer issuer duplicate issuer", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c","audiences":["x"]},{"name":"b","issuer":"https://i/","cluster":"c","audiences":["x"]}]}`, expectErr: "bearer_issuers[1].issuer: duplicate issuer (also bearer_issuers[0].issuer)"},
		{name: "bearer issuer cluster", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","audiences":["x"]}]}`, expectErr: "bearer_issuers[0].cluster: required"},
		{name: "bearer issuer audiences", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c"}]}`, expectErr: "bearer_issuers[0].audiences: required: the audiences (aud) this API accepts"},
		{name: "bearer issuer http", config: `{"bearer_issuers":[{"name":"a","issuer":"http://i/","cluster":"c","audiences":["x"]}]}`, expectErr: "bearer_issuers[0].issuer: must use https (http only with bearer_issuers[0].insecure_allow_http"},
		{name: "bearer issuer without discovery", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c","audiences":["x"],"discovery":false}]}`, expectErr: "bearer_issuers[0].jwks_uri: required when bearer_issuers[0].discovery is false"},
		{name: "bearer issuer HMAC", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c","audiences":["x"],"algorithms":["HS256"]}]}`, expectErr: "bearer_issuers[0].algorithms[0]: HS256: bearer issuers support asymmetric algorithms only"},
		{name: "bearer issuer without asymmetric default", config: `{"jwt":{"allow_hmac":true,"algorithms":["HS256"]},"client":{"secret":"0123456789012345678901234567890123456789"},"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c","audiences":["x"]}]}`, expectErr: "bearer_issuers[0].algorithms: required: jwt.algorithms has no asymmetric algorithm to default to"},

		// routes
		{name: "require_typ", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c","audiences":["x"]}],"routes":[{"name":"a","match":{"prefix":"/a"},"auth":"bearer","bearer_issuers":["a"],"require_typ":"application/at+jwt"}]}`},
		{name: "accept_id_tokens", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c","audiences":["x"]}],"routes":[{"name":"a","match":{"prefix":"/a"},"auth":"session_or_bearer","bearer_issuers":["a"],"accept_id_tokens":true,"require_typ":"JWT"}]}`},
		{name: "require_typ not a media type", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c","audiences":["x"]}],"routes":[{"name":"a","match":{"prefix":"/a"},"auth":"bearer","bearer_issuers":["a"],"require_typ":"at jwt"}]}`, expectErr: "routes[0].require_typ: must be a media type like at+jwt or application/at+jwt"},
		{name: "require_typ on a session route", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"require_typ":"at+jwt"}]}`, expectErr: "routes[0].require_typ: only used with auth bearer or session_or_bearer"},
		{name: "accept_id_tokens on a session route", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"accept_id_tokens":true}]}`, expectErr: "routes[0].accept_id_tokens: only used with auth bearer or session_or_bearer"},
		{name: "accept_id_tokens with require_typ at+jwt", config: `{"bearer_issuers":[{"name":"a","issuer":"https://i/","cluster":"c","audiences":["x"]}],"routes":[{"name":"a","match":{"prefix":"/a"},"auth":"bearer","bearer_issuers":["a"],"require_typ":"at+jwt","accept_id_tokens":true}]}`, expectErr: `routes[0].accept_id_tokens: ID tokens have typ JWT, which require_typ "at+jwt" refuses`},
		{name: "route name", config: `{"routes":[{"match":{"prefix":"/a"}}]}`, expectErr: "routes[0].name: must match [A-Za-z0-9_-]{1,64}"},
		{name: "duplicate route name", config: `{"routes":[{"name":"a","match":{"prefix":"/a"}},{"name":"a","match":{"prefix":"/b"}}]}`, expectErr: "routes[1].name: duplicate route name (also routes[0].name)"},
		{name: "route prefix required", config: `{"routes":[{"name":"a"}]}`, expectErr: "routes[0].match.prefix: required"},
		{name: "route host with port", config: `{"routes":[{"name":"a","match":{"prefix":"/a","host":"a.example.com:443"}}]}`, expectErr: `routes[0].match.host: must be a host name or "*.domain" (no port)`},
		{name: "overlapping routes", config: `{"routes":[{"name":"a","match":{"prefix":"/a","methods":["GET","POST"]}},{"name":"b","match":{"prefix":"/a","methods":["POST"]}}]}`, expectErr: `routes[1].match: same prefix, host and methods as routes[0] ("a")`},
		{name: "same prefix, neither with methods", config: `{"routes":[{"name":"a","match":{"prefix":"/a"}},{"name":"b","match":{"prefix":"/a"},"auth":"none"}]}`, expectErr: `routes[1].match: same prefix, host and methods as routes[0] ("a")`},
		{name: "route auth", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"auth":"basic"}]}`, expectErr: "routes[0].auth: must be one of session, bearer, session_or_bearer, none"},
		{name: "bearer route without issuers", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"auth":"bearer"}]}`, expectErr: "routes[0].bearer_issuers: required for auth bearer"},
		{name: "unknown bearer issuer", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"auth":"bearer","bearer_issuers":["x"]}]}`, expectErr: `routes[0].bearer_issuers[0]: no bearer issuer named "x"`},
		{name: "issuers on a session route", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"bearer_issuers":["x"]}]}`, expectErr: "routes[0].bearer_issuers: only used with auth bearer or session_or_bearer"},
		{name: "exchange type", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"exchange":{"type":"obo"}}]}`, expectErr: "routes[0].exchange.type: must be one of rfc8693, entra_obo"},
		{name: "exchange without target", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"exchange":{"type":"rfc8693"}}]}`, expectErr: "routes[0].exchange: type rfc8693 needs at least one of audience, resource and scope"},
		{name: "entra obo without scope", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"exchange":{"type":"entra_obo"}}]}`, expectErr: "routes[0].exchange.scope: required for type entra_obo"},
		{name: "entra obo with audience", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"exchange":{"type":"entra_obo","scope":"s","audience":"x"}}]}`, expectErr: "routes[0].exchange.audience: only used with type rfc8693"},
		{name: "exchange subject token type", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"exchange":{"type":"rfc8693","audience":"x","subject_token_type":"urn:x"}}]}`, expectErr: "routes[0].exchange.subject_token_type: must be one of urn:ietf:params:oauth:token-type:access_token"},
		{name: "exchange resource", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"exchange":{"type":"rfc8693","resource":"db"}}]}`, expectErr: "routes[0].exchange.resource: must be an absolute URI without a fragment (RFC 8707)"},
		{name: "exchange scope", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"exchange":{"type":"rfc8693","scope":"a \"b\""}}]}`, expectErr: "routes[0].exchange.scope: must be space-separated RFC 6749 scope tokens"},
		{name: "exchange header taken", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"exchange":{"type":"rfc8693","audience":"x","header":"X-Forwarded-Access-Token"}}]}`, expectErr: "routes[0].exchange.header: same header as forward.access_token_header"},
		{name: "exchange header empty", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"exchange":{"type":"rfc8693","audience":"x","header":""}}]}`, expectErr: "routes[0].exchange.header: must not be empty"},
		{name: "exchange margin", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"exchange":{"type":"rfc8693","audience":"x","margin":"-1s"}}]}`, expectErr: "routes[0].exchange.margin: must be between 0s and 1h"},
		{name: "exchange on auth none", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"auth":"none","exchange":{"type":"rfc8693","audience":"x"}}]}`, expectErr: "routes[0].exchange: needs an authenticated user: not possible with auth none"},
		{name: "authorization on auth none", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"auth":"none","authorization":{"scopes":["x"]}}]}`, expectErr: "routes[0].authorization: needs an authenticated user"},
		{name: "empty authorization", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"authorization":{}}]}`, expectErr: "routes[0].authorization: set scopes or claims (an empty authorization allows everyone)"},
		{name: "claim rule with both", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"authorization":{"claims":[{"claim":"groups","contains":"a","equals":"b"}]}}]}`, expectErr: "routes[0].authorization.claims[0]: set exactly one of contains and equals"},
		{name: "claim rule with neither", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"authorization":{"claims":[{"claim":"groups"}]}}]}`, expectErr: "routes[0].authorization.claims[0]: set exactly one of contains and equals"},
		{name: "contains a number", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"authorization":{"claims":[{"claim":"groups","contains":5}]}}]}`, expectErr: "routes[0].authorization.claims[0].contains: must be a string"},
		{name: "equals an object", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"authorization":{"claims":[{"claim":"groups","equals":{}}]}}]}`, expectErr: "routes[0].authorization.claims[0].equals: must be a string, a boolean or a number, not an object"},
		{name: "rule on a claim sessions drop", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"authorization":{"claims":[{"claim":"tid","equals":"t"}]}}]}`, expectErr: `routes[0].authorization.claims[0].claim: "tid" is not kept in sessions; add it to login.claims`},
		{name: "combine", config: `{"routes":[{"name":"a","match":{"prefix":"/a"},"authorization":{"scopes":["x"],"combine":"some"}}]}`, expectErr: "routes[0].authorization.combine: must be one of all, any"},

		// limits, log level
		{name: "state over query", config: `{"limits":{"max_state_bytes":8192,"max_query_bytes":4096}}`, expectErr: "limits.max_state_bytes: must not exceed limits.max_query_bytes"},
		{name: "jwks limit", config: `{"limits":{"max_jwks_bytes":100}}`, expectErr: "limits.max_jwks_bytes: must be between 4096 and 4194304"},
		{name: "log level", config: `{"log_level":"verbose"}`, expectErr: "log_level: must be one of trace, debug, info, warn, error, critical"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.raw)
			if tt.raw == "" && tt.config != "" {
				data = with(t, tt.config)
			}
			c, err := Parse(data)
			if tt.expectErr == "" {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				if c == nil {
					t.Fatal("nil Config without error")
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.expectErr)
			}
			if c != nil {
				t.Error("Config returned with an error")
			}
			for _, line := range errLines(err) {
				if strings.HasPrefix(line, tt.expectErr) {
					return
				}
			}
			t.Errorf("want a problem starting %q, got:\n%v", tt.expectErr, err)
		})
	}
}
