package filter

import (
	"testing"
)

func TestSelectClaims(t *testing.T) {
	id := []byte(`{"sub":"u1","email":"id@example.com","a.b":1,"groups":["x"],"secret":"s","realm_access":{"roles":["r"],"other":1}}`)
	info := []byte(`{"sub":"u1","email":"info@example.com","name":"N"}`)
	if got := string(selectClaims(id, []string{"email", `a\.b`, "groups", "missing", "realm_access.roles"})); got != `{"sub":"u1","email":"id@example.com","a.b":1,"groups":["x"],"realm_access":{"roles":["r"]}}` {
		t.Errorf("ID token only: %s", got)
	}
	if got := string(selectClaims(id, []string{"sub", "email", "name"}, info)); got != `{"sub":"u1","email":"info@example.com","name":"N"}` {
		t.Errorf("with userinfo: %s", got)
	}
}
