package config

import (
	"strings"
	"testing"
	"time"
)

func TestStoreConfig(t *testing.T) {
	if c := mustParse(t, with(t, `{}`)); c.Store.Kind != "" {
		t.Fatalf("default: %+v", c.Store)
	}
	c := mustParse(t, with(t, `{"store":{"kind":"etcd","cluster":"etcd"}}`))
	want := Store{Kind: "etcd", Cluster: "etcd", Authority: "etcd", Prefix: "oidc-proxy/", Timeout: 500 * time.Millisecond, PollInterval: 250 * time.Millisecond}
	if c.Store != want {
		t.Fatalf("defaults: %+v, want %+v", c.Store, want)
	}
	c = mustParse(t, with(t, `{"store":{"kind":"etcd","cluster":"etcd","authority":"etcd.db:2379","prefix":"gw/a/","timeout":"1s","poll_interval":"100ms"}}`))
	if c.Store.Authority != "etcd.db:2379" || c.Store.Prefix != "gw/a/" || c.Store.Timeout != time.Second || c.Store.PollInterval != 100*time.Millisecond {
		t.Fatalf("set: %+v", c.Store)
	}
	for _, tc := range []struct{ patch, path, msg string }{
		{`{"store":{"cluster":"etcd"}}`, "store.kind", "required with store.cluster"},
		{`{"store":{"kind":"redis","cluster":"r"}}`, "store.kind", "etcd"},
		{`{"store":{"kind":"etcd"}}`, "store.cluster", "required"},
		{`{"store":{"kind":"etcd","cluster":"e d"}}`, "store.cluster", "cluster name"},
		{`{"store":{"kind":"etcd","cluster":"e","prefix":""}}`, "store.prefix", "must not be empty"},
		{`{"store":{"kind":"etcd","cluster":"e","prefix":"a b/"}}`, "store.prefix", "printable ASCII"},
		{`{"store":{"kind":"etcd","cluster":"e","timeout":"1ms"}}`, "store.timeout", ""},
		{`{"store":{"kind":"etcd","cluster":"e","poll_interval":"1m"}}`, "store.poll_interval", ""},
	} {
		_, err := Parse(with(t, tc.patch))
		if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v; want a problem at %s saying %q", tc.patch, err, tc.path, tc.msg)
		}
	}
}
