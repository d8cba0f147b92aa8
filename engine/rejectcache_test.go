package engine

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

var errBearerSyntax = errors.New("malformed Authorization header")

// TestRejectCacheUnit: what is kept and for how long.
func TestRejectCacheUnit(t *testing.T) {
	c := NewRejectCache()
	now := time.Now()
	k := RejectKey("t")
	c.Put(k, nil, errBearerSyntax, now)
	if c.Get(k, nil, now.Add(RejectCacheTTL-time.Nanosecond)) == nil {
		t.Error("entry gone before its minute")
	}
	if c.Get(k, nil, now.Add(RejectCacheTTL)) != nil {
		t.Error("entry kept past its minute")
	}
	if c.Get(k, jwt.NewVerifier(nil, jwt.Options{}), now) != nil {
		t.Error("entry used with other keys")
	}
	for _, err := range []error{errUnknownKeyForTest, errNotYetValidForTest} {
		k := RejectKey(err.Error())
		c.Put(k, nil, err, now)
		if c.Get(k, nil, now) != nil {
			t.Errorf("%v was cached", err)
		}
	}
	for i := range 3 * RejectCacheEntries {
		c.Put(RejectKey(strconv.Itoa(i)), nil, errBearerSyntax, now)
	}
	if c.Len() != RejectCacheEntries {
		t.Errorf("len %d, want %d", c.Len(), RejectCacheEntries)
	}
	if c.Get(RejectKey(strconv.Itoa(3*RejectCacheEntries-1)), nil, now) == nil || c.Get(RejectKey("0"), nil, now) != nil {
		t.Error("the ring did not keep the newest entries")
	}
}

var (
	errUnknownKeyForTest  = fmtErr(jwt.ErrUnknownKey)
	errNotYetValidForTest = fmtErr(jwt.ErrNotYetValid)
)

func fmtErr(e error) error { return fmt.Errorf("%w: detail", e) }
