package config

import (
	"strings"
	"time"
)

// asymmetricAlgs are the JWS algorithms the verifier implements with public
// keys, in the order of the default allowlist. Ed25519 is RFC 9864's
// fully-specified name for EdDSA with Ed25519; the verifier treats the two
// as one, so listing either accepts tokens signed under both names.
var asymmetricAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}

// hmacAlgs and the least client secret length each needs (RFC 7518 3.2).
var hmacAlgs = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

func (v *validator) jwt() {
	r := &v.r.JWT
	c := &v.c.JWT
	c.Leeway = v.duration("jwt.leeway", r.Leeway, 0, 5*time.Minute)
	c.AllowHMAC = r.AllowHMAC
	if r.Algorithms == nil {
		c.Algorithms = append([]string(nil), asymmetricAlgs...)
		if r.AllowHMAC {
			c.Algorithms = append(c.Algorithms, "HS256")
		}
	} else {
		c.Algorithms = v.algorithms("jwt.algorithms", r.Algorithms, r.AllowHMAC)
	}
	if r.AllowHMAC {
		for i, alg := range c.Algorithms {
			if need, ok := hmacAlgs[alg]; ok && len(v.c.Client.Secret) < need {
				path := indexPath("jwt.algorithms", i)
				if r.Algorithms == nil {
					path = "jwt.allow_hmac" // the default list: nothing to point at
				}
				// The needed length, never the secret itself.
				v.add(path, "%s needs a client.secret of at least %d bytes", alg, need)
			}
		}
	}
}

// algorithms validates an algorithm allowlist. HMAC algorithms are accepted
// only when hmac is set.
func (v *validator) algorithms(path string, in []string, hmac bool) []string {
	if len(in) == 0 {
		v.add(path, "must not be empty")
		return nil
	}
	var out []string
	var u uniq
	for i, alg := range in {
		p := indexPath(path, i)
		_, isHMAC := hmacAlgs[alg]
		switch {
		case strings.EqualFold(alg, "none"):
			v.add(p, "\"none\" is never allowed")
		case alg == "Ed448":
			v.add(p, "Ed448 is not supported (EdDSA and Ed25519 are, with Ed25519 keys)")
		case isHMAC && !hmac && path == "jwt.algorithms":
			v.add(p, "%s requires jwt.allow_hmac", alg)
		case isHMAC && !hmac:
			v.add(p, "%s: bearer issuers support asymmetric algorithms only", alg)
		case !isHMAC && !contains(asymmetricAlgs, alg):
			v.add(p, "unknown algorithm %s; must be one of %s", quote(alg), strings.Join(asymmetricAlgs, ", ")+", HS256, HS384, HS512")
		default:
			if u.check(v, p, alg, "algorithm") {
				out = append(out, alg)
			}
		}
	}
	return out
}

func (v *validator) bearerIssuers() {
	var names, issuers uniq
	for i := range v.r.BearerIssuers {
		r := &v.r.BearerIssuers[i]
		p := indexPath("bearer_issuers", i)
		b := BearerIssuer{
			Name:              r.Name,
			Issuer:            r.Issuer,
			InsecureAllowHTTP: r.InsecureAllowHTTP,
			Discovery:         r.Discovery,
			JWKSURI:           r.JWKSURI,
			Cluster:           r.Cluster,
			Authority:         r.Authority,
		}
		if !isIdent(r.Name, 64) {
			v.add(p+".name", "must match [A-Za-z0-9_-]{1,64}")
		} else {
			names.check(v, p+".name", r.Name, "bearer issuer name")
		}
		rules := urlRules{allowHTTP: r.InsecureAllowHTTP, httpHint: "http only with " + p + ".insecure_allow_http, which MUST NOT be used in production"}
		if r.Issuer == "" {
			v.add(p+".issuer", "required")
		} else if _, msg := checkURL(r.Issuer, rules); msg != "" {
			v.add(p+".issuer", "%s", msg)
		} else {
			issuers.check(v, p+".issuer", r.Issuer, "issuer")
		}
		rules.allowQuery = true
		switch {
		case r.JWKSURI == "" && !r.Discovery:
			v.add(p+".jwks_uri", "required when %s.discovery is false", p)
		case r.JWKSURI != "":
			if _, msg := checkURL(r.JWKSURI, rules); msg != "" {
				v.add(p+".jwks_uri", "%s", msg)
			}
		}
		if msg := checkCluster(r.Cluster); msg != "" {
			v.add(p+".cluster", "%s", msg)
		}
		if r.Authority != "" {
			if msg := checkAuthority(r.Authority); msg != "" {
				v.add(p+".authority", "%s", msg)
			}
		}
		b.Audiences = v.audiences(p+".audiences", r.Audiences)
		if r.Algorithms == nil {
			for _, alg := range v.c.JWT.Algorithms {
				if _, isHMAC := hmacAlgs[alg]; !isHMAC {
					b.Algorithms = append(b.Algorithms, alg)
				}
			}
			if len(b.Algorithms) == 0 && len(v.c.JWT.Algorithms) > 0 {
				v.add(p+".algorithms", "required: jwt.algorithms has no asymmetric algorithm to default to")
			}
		} else {
			b.Algorithms = v.algorithms(p+".algorithms", r.Algorithms, false)
		}
		v.c.BearerIssuers = append(v.c.BearerIssuers, b)
	}
}

func (v *validator) audiences(path string, in []string) []string {
	if len(in) == 0 {
		v.add(path, "required: the audiences (aud) this API accepts")
		return nil
	}
	var out []string
	var u uniq
	for i, a := range in {
		p := indexPath(path, i)
		if a == "" {
			v.add(p, "must not be empty")
		} else if msg := checkText(a, 1024); msg != "" {
			v.add(p, "%s", msg)
		} else if u.check(v, p, a, "audience") {
			out = append(out, a)
		}
	}
	return out
}
