package config

import "time"

const insecureHint = "http only with provider.insecure_allow_http, which MUST NOT be used in production"

func (v *validator) provider() {
	r := &v.r.Provider
	c := &v.c.Provider
	c.Issuer = r.Issuer
	c.InsecureAllowHTTP = r.InsecureAllowHTTP
	c.Discovery = r.Discovery
	rules := urlRules{allowHTTP: r.InsecureAllowHTTP, httpHint: insecureHint}

	if r.Issuer == "" {
		v.add("provider.issuer", "required")
	} else if _, msg := checkURL(r.Issuer, rules); msg != "" {
		v.add("provider.issuer", "%s", msg)
	}

	rules.allowQuery = true // RFC 6749 section 3.1: endpoint URIs may carry a query
	endpoints := []struct {
		name     string
		val      string
		dst      *string
		required bool // without discovery
	}{
		{"authorization_endpoint", r.AuthorizationEndpoint, &c.AuthorizationEndpoint, true},
		{"token_endpoint", r.TokenEndpoint, &c.TokenEndpoint, true},
		{"userinfo_endpoint", r.UserinfoEndpoint, &c.UserinfoEndpoint, false},
		{"jwks_uri", r.JWKSURI, &c.JWKSURI, true},
		{"end_session_endpoint", r.EndSessionEndpoint, &c.EndSessionEndpoint, false},
		{"revocation_endpoint", r.RevocationEndpoint, &c.RevocationEndpoint, false},
		{"introspection_endpoint", r.IntrospectionEndpoint, &c.IntrospectionEndpoint, false},
		{"pushed_authorization_request_endpoint", r.PAREndpoint, &c.PAREndpoint, false},
	}
	for _, e := range endpoints {
		path := "provider." + e.name
		switch {
		case e.val == "" && e.required && !r.Discovery:
			v.add(path, "required when provider.discovery is false")
		case e.val == "":
		default:
			if _, msg := checkURL(e.val, rules); msg != "" {
				v.add(path, "%s", msg)
			} else {
				*e.dst = e.val
			}
		}
	}

	if msg := checkCluster(r.Cluster); msg != "" {
		v.add("provider.cluster", "%s", msg)
	}
	c.Cluster = r.Cluster
	c.JWKSCluster = r.JWKSCluster
	if c.JWKSCluster == "" {
		c.JWKSCluster = r.Cluster
	} else if msg := checkCluster(r.JWKSCluster); msg != "" {
		v.add("provider.jwks_cluster", "%s", msg)
	}
	if r.Authority != "" {
		if msg := checkAuthority(r.Authority); msg != "" {
			v.add("provider.authority", "%s", msg)
		}
	}
	c.Authority = r.Authority

	c.Timeout = v.duration("provider.timeout", r.Timeout, 100*time.Millisecond, time.Minute)
	c.MetadataRefreshInterval = v.duration("provider.metadata_refresh_interval", r.MetadataRefreshInterval, time.Minute, 7*24*time.Hour)
	c.JWKSMinRefetchInterval = v.duration("provider.jwks_min_refetch_interval", r.JWKSMinRefetchInterval, time.Second, time.Hour)
}

// mtlsCluster validates provider.mtls_cluster: only with a mutual-TLS
// client authentication method, where it defaults to provider.cluster.
func (v *validator) mtlsCluster(mtls bool) {
	c := v.r.Provider.MTLSCluster
	switch {
	case !mtls && c != "":
		v.add("provider.mtls_cluster", "only with client.auth_method tls_client_auth or self_signed_tls_client_auth")
	case !mtls:
	case c == "":
		v.c.Provider.MTLSCluster = v.c.Provider.Cluster
	default:
		if msg := checkCluster(c); msg != "" {
			v.add("provider.mtls_cluster", "%s", msg)
		}
		v.c.Provider.MTLSCluster = c
	}
}

func (v *validator) client() {
	r := &v.r.Client
	if r.ID == "" {
		v.add("client.id", "required")
	} else if msg := checkText(r.ID, 1024); msg != "" {
		v.add("client.id", "%s", msg)
	}
	// Never quote the secret, not even a part of it.
	m, _ := v.enum("client.auth_method", r.AuthMethod, false, ClientSecretBasic, ClientSecretPost, PrivateKeyJWT, ClientSecretJWT,
		TLSClientAuth, SelfSignedTLSClientAuth)
	mtls := m == TLSClientAuth || m == SelfSignedTLSClientAuth
	v.mtlsCluster(mtls)
	var secret string
	if (m != PrivateKeyJWT && !mtls) || r.Secret != "" || r.SecretEnv != "" {
		var at, from string
		var ok bool
		secret, at, from, ok = v.secret("client", r.Secret, r.SecretEnv, "required (for client_secret_basic, client_secret_post and client_secret_jwt)")
		if ok {
			if msg := checkText(secret, 4096); msg != "" {
				v.add(at, "%s%s", from, msg)
			} else if m == ClientSecretJWT && len(secret) < 32 {
				v.add(at, "%sclient_secret_jwt (HS256) needs a secret of at least 32 bytes", from)
			}
		}
	}
	v.c.Client = Client{ID: r.ID, Secret: secret, SecretEnv: r.SecretEnv, AuthMethod: m}
	v.c.Client.AssertionAudience, _ = v.enum("client.assertion_audience", r.AssertionAudience, false, AudienceIssuer, AudienceEndpoint)
	if r.AssertionAudience != AudienceIssuer && m != PrivateKeyJWT && m != ClientSecretJWT {
		v.add("client.assertion_audience", "only for auth_method private_key_jwt or client_secret_jwt")
	}
	v.c.Client.SigningKey, v.c.Client.SigningKeyEnv = v.clientKey()
	v.clientCertificate()
	if m == PrivateKeyJWT && v.c.Client.SigningKey == nil && r.PrivateKey == "" && r.PrivateKeyEnv == "" {
		v.add("client.private_key", "required for auth_method private_key_jwt (or private_key_env)")
	}
}
