package config

import (
	"strings"
	"time"
)

// Store is the optional distributed store that makes the Envoys of a deployment act as one:
// one refresh per session across replicas, sign-out and back-channel logout seen by every
// replica, and each login state used once across them. Kind is "" when none is configured:
// then each Envoy coordinates its own VMs only (shared data).
type Store struct {
	// Kind is StoreEtcd, or "" for none.
	Kind string
	// Cluster is the Envoy cluster of the store's client endpoint (etcd's gRPC-gateway
	// JSON API, /v3/...); TLS, client certificates and endpoints are the cluster's.
	Cluster string
	// Authority is the :authority of calls to the store, default the cluster name.
	Authority string
	// Prefix starts every key the plugin writes; deployments sharing one etcd keep apart by
	// it. Default "oidc-proxy/".
	Prefix string
	// Timeout bounds each call; a call that takes longer counts as the store being down.
	Timeout time.Duration
	// PollInterval is how often each Envoy reads the sign-outs and provider logouts other
	// replicas wrote.
	PollInterval time.Duration
}

// Key is the store key of parts: Prefix followed by them.
func (s Store) Key(parts ...string) string { return s.Prefix + strings.Join(parts, "") }

// StoreEtcd is etcd v3, reached through its JSON gateway.
const StoreEtcd = "etcd"

type rawStore struct {
	Kind         string `json:"kind"`
	Cluster      string `json:"cluster"`
	Authority    string `json:"authority"`
	Prefix       string `json:"prefix"`
	Timeout      string `json:"timeout"`
	PollInterval string `json:"poll_interval"`
}

func defaultStore() rawStore {
	return rawStore{Prefix: "oidc-proxy/", Timeout: "500ms", PollInterval: "250ms"}
}

// store validates the store section.
func (v *validator) store() {
	r, c := &v.r.Store, &v.c.Store
	if r.Kind == "" {
		if r.Cluster != "" || r.Authority != "" {
			v.add("store.kind", "required with store.cluster: etcd")
		}
		return
	}
	kind, ok := v.enum("store.kind", r.Kind, false, StoreEtcd)
	if !ok {
		return
	}
	c.Kind = kind
	if msg := checkCluster(r.Cluster); msg != "" {
		v.add("store.cluster", "%s", msg)
	}
	c.Cluster = r.Cluster
	c.Authority = r.Authority
	if c.Authority == "" {
		c.Authority = r.Cluster
	} else if msg := checkAuthority(r.Authority); msg != "" {
		v.add("store.authority", "%s", msg)
	}
	switch {
	case r.Prefix == "":
		v.add("store.prefix", "must not be empty: every key the plugin writes starts with it")
	case len(r.Prefix) > 128:
		v.add("store.prefix", "too long (more than 128 bytes)")
	default:
		for i := 0; i < len(r.Prefix); i++ {
			if r.Prefix[i] <= ' ' || r.Prefix[i] >= 0x7f {
				v.add("store.prefix", "must be printable ASCII without spaces")
				break
			}
		}
	}
	c.Prefix = r.Prefix
	c.Timeout = v.duration("store.timeout", r.Timeout, 10*time.Millisecond, 10*time.Second)
	c.PollInterval = v.duration("store.poll_interval", r.PollInterval, 50*time.Millisecond, 10*time.Second)
}
