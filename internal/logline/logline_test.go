package logline

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		kv   []any
		want string
	}{
		{"plain words stay bare", []any{"event", "login_failed", "status", 403, "corr", "a1-b2"}, `m event=login_failed status=403 corr=a1-b2`},
		{"a forged pair is quoted", []any{"reason", `x corr=forged event=login_succeeded sub="admin"`},
			`m reason="x corr=forged event=login_succeeded sub=\"admin\""`},
		{"newlines cannot start a line", []any{"path", "/a\nwasm log forged"}, `m path="/a\nwasm log forged"`},
		{"empty is quoted", []any{"sub", ""}, `m sub=""`},
		{"errors and durations", []any{"err", errors.New("oidc: bad"), "window", 5 * time.Minute}, `m err="oidc: bad" window=5m0s`},
		{"a bad key shows", []any{"Bad Key", "v"}, `m badkey=v`},
		{"a missing value shows", []any{"k"}, `m k="!missing"`},
		{"long values are cut", []any{"v", strings.Repeat("a", MaxValue+10)}, `m v="` + strings.Repeat("a", MaxValue) + `..."`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Format("m", tc.kv...); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// FuzzNoForgedPairs: whatever the values, the line parses back into exactly the keys given,
// in order, each with its own value (cut at MaxValue), and stays on one line.
func FuzzNoForgedPairs(f *testing.F) {
	f.Add("access_denied", `x corr=forged event=login_succeeded sub="admin"`, "/p\r\nx=y")
	f.Add("", "\x00\xff", `\" a=b`)
	f.Fuzz(func(t *testing.T, a, b, c string) {
		line := Format("oidc-proxy audit event=login_failed", "code", a, "reason", b, "path", c)
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("a line break: %q", line)
		}
		msg, pairs, ok := Parse(line)
		if !ok || msg != "oidc-proxy audit" || len(pairs) != 4 || pairs[0] != [2]string{"event", "login_failed"} || pairs[1][0] != "code" || pairs[2][0] != "reason" || pairs[3][0] != "path" {
			t.Fatalf("line %q parses as %q (ok %v)", line, pairs, ok)
		}
		for i, in := range []string{a, b, c} {
			if got := pairs[i+1][1]; got != in && !strings.HasSuffix(got, "...") {
				t.Fatalf("value %d: got %q, want %q", i, got, in)
			}
		}
	})
}

type stringer struct{}

func (stringer) String() string { return "a b" }

func TestFormatValueKinds(t *testing.T) {
	var nilErr error
	got := Format("m", "i64", int64(-3), "u32", uint32(4), "u64", uint64(5), "b", true, "s", stringer{}, "e", nilErr, "x", 1.5)
	want := `m i64=-3 u32=4 u64=5 b=true s="a b" e="" x="!unsupported"`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, line := range []string{
		`m k="unterminated`, `m k=a  j=b`, `m K=v`, `m k=bad"word`, `m k=v `, `m k="a"x`, `m =v`,
	} {
		if _, _, ok := Parse(line); ok {
			t.Errorf("Parse(%q) accepted", line)
		}
	}
	if msg, pairs, ok := Parse("just a message"); !ok || msg != "just a message" || len(pairs) != 0 {
		t.Errorf("a message without pairs: %q %v %v", msg, pairs, ok)
	}
}
