package op

import (
	"encoding/json"
	"slices"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func jwksKids(t *testing.T, s *Server) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(get(t, nil, s.Endpoints().JWKS).body), &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		if k.Use != "sig" || k.Algorithm == "" || !k.IsPublic() {
			t.Errorf("key %s: use %q alg %q public %v", k.KeyID, k.Use, k.Algorithm, k.IsPublic())
		}
		kids = append(kids, k.KeyID)
	}
	return kids
}

func TestRotateKey(t *testing.T) {
	s := startOP(t, Config{})
	old := s.KeyID()
	before := issue(t, s)
	if got := jwksKids(t, s); !slices.Equal(got, []string{old}) {
		t.Fatalf("JWKS kids %v, want [%s]", got, old)
	}

	kid := s.RotateKey()
	if kid == old || s.KeyID() != kid {
		t.Fatalf("RotateKey gave %q (old %q, current %q)", kid, old, s.KeyID())
	}
	if got := jwksKids(t, s); !slices.Equal(got, []string{old, kid}) {
		t.Fatalf("JWKS kids after rotation %v, want [%s %s]", got, old, kid)
	}
	after := issue(t, s)
	if _, k, err := verify(t, s, after.IDToken); err != nil || k != kid {
		t.Errorf("new token kid %q err %v, want %q", k, err, kid)
	}
	if _, k, err := verify(t, s, before.AccessToken); err != nil || k != old {
		t.Errorf("old token no longer verifies while its key is published: kid %q err %v", k, err)
	}
	// The library verifies id_token_hint and access tokens against all
	// published keys: an old token still introspects.
	if active, _, _ := s.Introspect(before.AccessToken); !active {
		t.Error("old-key access token inactive during overlap")
	}

	if got := s.JWKS(); len(got.Keys) != 2 || got.Keys[1].KeyID != kid {
		t.Errorf("JWKS() = %v", got.Keys)
	}
	s.RemoveOldKeys()
	if got := jwksKids(t, s); !slices.Equal(got, []string{kid}) {
		t.Fatalf("JWKS kids after RemoveOldKeys %v, want [%s]", got, kid)
	}
	if _, _, err := verify(t, s, before.AccessToken); err == nil {
		t.Error("token signed by a removed key still verifies")
	}
	if c := s.Counts().JWKS; c != 6 {
		t.Errorf("JWKS count %d", c)
	}
}

func TestSigningAlgorithms(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			s := startOP(t, Config{SigningAlgorithm: alg})
			tr := issue(t, s)
			for _, raw := range []string{tr.IDToken, tr.AccessToken} {
				if _, _, err := verify(t, s, raw); err != nil {
					t.Fatalf("verify: %v", err)
				}
			}
			if active, _, err := s.Introspect(tr.AccessToken); !active || err != nil {
				t.Errorf("introspect with %s: %v %v", alg, active, err)
			}
			if _, err := s.Refresh(ctxT(t), tr.RefreshToken); err != nil {
				t.Errorf("refresh: %v", err)
			}
			d := get(t, nil, s.Endpoints().Discovery).json(t)
			if algs, _ := d["id_token_signing_alg_values_supported"].([]any); !slices.Equal(algs, []any{string(alg)}) {
				t.Errorf("discovery algs %v", algs)
			}
		})
	}
}
