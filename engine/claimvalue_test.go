package engine

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestClaimValue(t *testing.T) {
	long := strings.Repeat("g", MaxClaimHeaderLen-6)
	tests := []struct {
		name, json, want string
	}{
		{"string", `{"c":"alice"}`, "alice"},
		{"number", `{"c":42}`, "42"},
		{"bool", `{"c":true}`, "true"},
		{"array joined", `{"c":["users","admins"]}`, "users,admins"},
		{"array skips objects", `{"c":["a",{"x":1},"b"]}`, "a,b"},
		{"object dropped", `{"c":{"x":1}}`, ""},
		// ["eng,admins"] and ["eng","admins"] must not reach the app alike.
		{"array element with a comma dropped", `{"c":["eng,admins"]}`, ""},
		{"array with one element with a comma dropped", `{"c":["users","eng,admins"]}`, ""},
		{"array with an empty element dropped", `{"c":["users",""]}`, ""},
		{"array element with a leading space dropped", `{"c":["users"," admins"]}`, ""},
		{"array element with a trailing tab dropped", `{"c":["admins\t"]}`, ""},
		{"array element with an inner space kept", `{"c":["a b","c"]}`, "a b,c"},
		{"string with a comma kept", `{"c":"Doe, Jane"}`, "Doe, Jane"},
		{"absent", `{}`, ""},
		{"CR LF dropped", `{"c":"a\r\nX-Evil: 1"}`, ""},
		{"at the limit kept", `{"c":"` + strings.Repeat("x", MaxClaimHeaderLen) + `"}`, strings.Repeat("x", MaxClaimHeaderLen)},
		// Cutting at the limit would leave "admins" out of "admins-readonly": drop instead.
		{"over the limit dropped", `{"c":["` + long + `","admins-readonly"]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClaimValue(gjson.Get(tt.json, "c")); got != tt.want {
				t.Errorf("ClaimValue = %.40q (len %d), want %.40q", got, len(got), tt.want)
			}
		})
	}
}
