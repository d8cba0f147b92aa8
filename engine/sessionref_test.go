package engine

import (
	"testing"
	"time"
)

func TestSessionRef(t *testing.T) {
	exp := time.Unix(1700000000, 0)
	if got := SessionRef("abc", "iss", "sub", "sid", exp); got != "login:abc" {
		t.Errorf("with a login id: %q", got)
	}
	a := SessionRef("", "iss", "sub", "sid", exp)
	for name, other := range map[string]string{
		"another subject": SessionRef("", "iss", "sub2", "sid", exp),
		"another sid":     SessionRef("", "iss", "sub", "sid2", exp),
		"another expiry":  SessionRef("", "iss", "sub", "sid", exp.Add(time.Second)),
		"parts shifted":   SessionRef("", "is", "ssub", "sid", exp),
	} {
		if other == a {
			t.Errorf("%s gives the same ref", name)
		}
	}
	if SessionRef("", "iss", "sub", "sid", exp) != a {
		t.Error("not deterministic")
	}
}
