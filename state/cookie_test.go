package state

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// b64ish returns n bytes of base64url-alphabet text that differ per position,
// so a misplaced chunk changes the joined value.
func b64ish(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[(i*7+i/64)%64]
	}
	return string(b)
}

func TestCookieCodecValidate(t *testing.T) {
	tests := []struct {
		name    string
		c       CookieCodec
		wantErr bool
	}{
		{name: "defaults", c: CookieCodec{Name: "session"}},
		{name: "host prefix", c: CookieCodec{Name: "__Host-session"}},
		{name: "limits", c: CookieCodec{Name: strings.Repeat("n", MaxCookieNameLen), MaxCookieSize: MinCookieSize, MaxChunks: MaxChunksLimit}},
		{name: "browser limit", c: CookieCodec{Name: "s", MaxCookieSize: MaxCookieSizeLimit, MaxChunks: 1}},
		{name: "no name", c: CookieCodec{}, wantErr: true},
		{name: "name too long", c: CookieCodec{Name: strings.Repeat("n", MaxCookieNameLen+1)}, wantErr: true},
		{name: "name with =", c: CookieCodec{Name: "a=b"}, wantErr: true},
		{name: "name with space", c: CookieCodec{Name: "a b"}, wantErr: true},
		{name: "name with ;", c: CookieCodec{Name: "a;b"}, wantErr: true},
		{name: "name non-ascii", c: CookieCodec{Name: "sessión"}, wantErr: true},
		{name: "size too small", c: CookieCodec{Name: "s", MaxCookieSize: MinCookieSize - 1}, wantErr: true},
		{name: "size over browser limit", c: CookieCodec{Name: "s", MaxCookieSize: MaxCookieSizeLimit + 1}, wantErr: true},
		{name: "negative size", c: CookieCodec{Name: "s", MaxCookieSize: -1}, wantErr: true},
		{name: "too many chunks", c: CookieCodec{Name: "s", MaxChunks: MaxChunksLimit + 1}, wantErr: true},
		{name: "negative chunks", c: CookieCodec{Name: "s", MaxChunks: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidCodec) {
				t.Fatalf("error %v does not wrap ErrInvalidCodec", err)
			}
			if _, serr := tt.c.Split("x"); (serr != nil) != tt.wantErr {
				t.Errorf("Split error = %v, wantErr %v", serr, tt.wantErr)
			}
			if _, jerr := tt.c.Join(mapGet(nil)); tt.wantErr && !errors.Is(jerr, ErrInvalidCodec) {
				t.Errorf("Join error = %v, want ErrInvalidCodec", jerr)
			}
		})
	}
}

func TestSplitJoin(t *testing.T) {
	def := CookieCodec{Name: "__Host-s"}
	// The default first cookie holds 3800 - len("__Host-s=") - len("0.1.") bytes.
	one := DefaultMaxCookieSize - len("__Host-s=") - len("0.1.")
	two := 2 * (DefaultMaxCookieSize - len("__Host-s=") - len("0.2.") - 1)
	tests := []struct {
		name       string
		c          CookieCodec
		n          int
		wantChunks int
		wantErr    error
	}{
		{name: "tiny", c: def, n: 1, wantChunks: 1},
		{name: "one full cookie", c: def, n: one, wantChunks: 1},
		{name: "one byte over one cookie", c: def, n: one + 1, wantChunks: 2},
		{name: "two full cookies", c: def, n: two, wantChunks: 2},
		{name: "one byte over two cookies", c: def, n: two + 1, wantChunks: 3},
		{name: "30KB in 8", c: def, n: 30000, wantChunks: 8},
		{name: "too large for 8", c: def, n: 8 * DefaultMaxCookieSize, wantErr: ErrTooLarge},
		{name: "empty", c: def, n: 0, wantErr: ErrMalformed},
		{name: "small cookies, 12 chunks", c: CookieCodec{Name: "s", MaxCookieSize: 128, MaxChunks: 32}, n: 1400, wantChunks: 12},
		{name: "one chunk only", c: CookieCodec{Name: "s", MaxChunks: 1}, n: 5000, wantErr: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value := b64ish(tt.n)
			cookies, err := tt.c.Split(value)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Split = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(cookies) != tt.wantChunks {
				t.Fatalf("Split made %d cookies, want %d", len(cookies), tt.wantChunks)
			}
			size := tt.c.MaxCookieSize
			if size == 0 {
				size = DefaultMaxCookieSize
			}
			names := tt.c.Names()
			for i, c := range cookies {
				if c.Name != names[i] {
					t.Errorf("cookie %d named %q, want %q", i, c.Name, names[i])
				}
				if l := len(c.Name) + 1 + len(c.Value); l > size {
					t.Errorf("cookie %d is %d bytes, limit %d", i, l, size)
				}
				if want := fmt.Sprintf("%d.%d.", i, len(cookies)); !strings.HasPrefix(c.Value, want) {
					t.Errorf("cookie %d value starts %.8q, want prefix %q", i, c.Value, want)
				}
			}
			got, err := tt.c.Join(mapGet(cookieMap(cookies)))
			if err != nil {
				t.Fatal(err)
			}
			if got != value {
				t.Fatalf("Join returned %d bytes, not the %d split", len(got), len(value))
			}
		})
	}
}

func TestSplitRejectsNonCookieValues(t *testing.T) {
	c := CookieCodec{Name: "s"}
	for _, v := range []string{"a b", "a;b", "a,b", `a"b`, `a\b`, "a\x00b", "a\nb", "é"} {
		if _, err := c.Split(v); !errors.Is(err, ErrMalformed) {
			t.Errorf("Split(%q) = %v, want ErrMalformed", v, err)
		}
	}
}

func TestJoinStrict(t *testing.T) {
	c := CookieCodec{Name: "s", MaxCookieSize: 128, MaxChunks: 4}
	cookies, err := c.Split(b64ish(250)) // three chunks
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies) != 3 {
		t.Fatalf("setup: %d chunks, want 3", len(cookies))
	}
	valid := cookieMap(cookies)
	edit := func(f func(m map[string]string)) map[string]string {
		m := cookieMap(cookies)
		f(m)
		return m
	}
	payload := func(i int) string { return strings.SplitN(valid[c.Names()[i]], ".", 3)[2] }
	tests := []struct {
		name    string
		m       map[string]string
		wantErr error
	}{
		{name: "none", m: map[string]string{"other": "x"}, wantErr: ErrNoCookie},
		{name: "first missing", m: edit(func(m map[string]string) { delete(m, "s") }), wantErr: ErrMalformed},
		{name: "middle missing", m: edit(func(m map[string]string) { delete(m, "s_1") }), wantErr: ErrMalformed},
		{name: "last missing", m: edit(func(m map[string]string) { delete(m, "s_2") }), wantErr: ErrMalformed},
		{name: "extra stale chunk", m: edit(func(m map[string]string) { m["s_3"] = "3.4." + payload(2) }), wantErr: ErrMalformed},
		{name: "extra chunk claiming the same count", m: edit(func(m map[string]string) { m["s_3"] = "2.3." + payload(2) }), wantErr: ErrMalformed},
		{name: "swapped", m: edit(func(m map[string]string) { m["s_1"], m["s_2"] = m["s_2"], m["s_1"] }), wantErr: ErrMalformed},
		{name: "swapped with rewritten prefixes", m: edit(func(m map[string]string) {
			m["s_1"], m["s_2"] = "1.3."+payload(2), "2.3."+payload(1)
		}), wantErr: nil}, // structurally valid: opening it fails (TestJoinThenOpen)
		{name: "count disagrees", m: edit(func(m map[string]string) { m["s_2"] = "2.4." + payload(2) }), wantErr: ErrMalformed},
		{name: "count over MaxChunks", m: map[string]string{"s": "0.5.x", "s_1": "1.5.x", "s_2": "2.5.x", "s_3": "3.5.x"}, wantErr: ErrMalformed},
		{name: "no prefix", m: map[string]string{"s": payload(0)}, wantErr: ErrMalformed},
		{name: "empty value", m: map[string]string{"s": ""}, wantErr: ErrMalformed},
		{name: "empty payload", m: map[string]string{"s": "0.1."}, wantErr: ErrMalformed},
		{name: "leading zero", m: map[string]string{"s": "00.1.x"}, wantErr: ErrMalformed},
		{name: "count zero", m: map[string]string{"s": "0.0.x"}, wantErr: ErrMalformed},
		{name: "index not below count", m: map[string]string{"s": "1.1.x"}, wantErr: ErrMalformed},
		{name: "sign", m: map[string]string{"s": "+0.1.x"}, wantErr: ErrMalformed},
		{name: "three digits", m: map[string]string{"s": "000.1.x"}, wantErr: ErrMalformed},
		{name: "oversized cookie", m: map[string]string{"s": "0.1." + b64ish(128)}, wantErr: ErrTooLarge},
		{name: "single chunk", m: map[string]string{"s": "0.1.abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Join(mapGet(tt.m))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Join = %v, want %v", err, tt.wantErr)
			}
			j, jerr := c.Joiner()
			if jerr != nil {
				t.Fatal(jerr)
			}
			single, buf, aerr := j.AppendJoin([]byte("kept"), mapGet(tt.m))
			if joined := single + string(buf[len("kept"):]); fmt.Sprint(aerr) != fmt.Sprint(err) || joined != got ||
				single != "" && len(buf) != len("kept") || string(buf[:len("kept")]) != "kept" {
				t.Fatalf("AppendJoin = %q, %q, %v; Join = %q, %v", single, buf, aerr, got, err)
			}
		})
	}
}

// AppendJoin into a buffer that holds the value allocates nothing: the warm request path
// joins the session cookie on every request.
func TestAppendJoinAllocatesNothing(t *testing.T) {
	c := CookieCodec{Name: "s", MaxCookieSize: 128, MaxChunks: 4}
	cookies, err := c.Split(b64ish(250))
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.Joiner()
	if err != nil {
		t.Fatal(err)
	}
	m := cookieMap(cookies)
	get := func(name string) (string, bool) { v, ok := m[name]; return v, ok }
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() {
		if _, buf, err = j.AppendJoin(buf[:0], get); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("AppendJoin: %v allocations per join, want 0", n)
	}
	if string(buf) != b64ish(250) {
		t.Errorf("AppendJoin joined %d bytes, not the value split", len(buf))
	}
	if _, err := (CookieCodec{}).Joiner(); !errors.Is(err, ErrInvalidCodec) {
		t.Errorf("Joiner of an invalid codec = %v, want ErrInvalidCodec", err)
	}
}

// Chunks of two sealed sessions mixed into one structurally valid set never
// open.
func TestJoinThenOpen(t *testing.T) {
	s := newSealer(t, newKey(t, "k1"))
	c := CookieCodec{Name: "s", MaxCookieSize: 512}
	seal := func(text string) []Cookie {
		sealed, err := s.Seal(PurposeSession, c.Name, []byte(text), t0.Add(1e12))
		if err != nil {
			t.Fatal(err)
		}
		cs, err := c.Split(sealed)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	a, b := seal(strings.Repeat("a", 600)), seal(strings.Repeat("b", 600))
	if len(a) != len(b) || len(a) < 2 {
		t.Fatalf("setup: %d and %d chunks", len(a), len(b))
	}
	mixed := cookieMap(a)
	mixed[b[1].Name] = b[1].Value
	joined, err := c.Join(mapGet(mixed))
	if err != nil {
		t.Fatalf("Join of a structurally valid mix: %v", err)
	}
	if _, err := s.Open(PurposeSession, c.Name, joined, t0); !errors.Is(err, ErrAuth) {
		t.Fatalf("Open of mixed chunks = %v, want ErrAuth", err)
	}
	joined, err = c.Join(mapGet(cookieMap(a)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(PurposeSession, c.Name, joined, t0); err != nil || string(got) != strings.Repeat("a", 600) {
		t.Fatalf("Open(Join(Split(sealed))) = %v", err)
	}
}

func TestNamesAndStale(t *testing.T) {
	c := CookieCodec{Name: "s", MaxCookieSize: 128, MaxChunks: 4}
	if got, want := c.Names(), []string{"s", "s_1", "s_2", "s_3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Names = %q, want %q", got, want)
	}
	if got := (CookieCodec{Name: "s"}).Names(); len(got) != DefaultMaxChunks || got[7] != "s_7" {
		t.Fatalf("default Names = %q", got)
	}
	if got := (CookieCodec{}).Names(); got != nil {
		t.Fatalf("invalid codec Names = %q, want nil", got)
	}
	big, err := c.Split(b64ish(250))
	if err != nil {
		t.Fatal(err)
	}
	small, err := c.Split(b64ish(10))
	if err != nil {
		t.Fatal(err)
	}
	request := cookieMap(big)
	request["unrelated"] = "x"
	tests := []struct {
		name string
		next []Cookie
		req  map[string]string
		want []string
	}{
		{name: "shrink 3 to 1", next: small, req: request, want: []string{"s_1", "s_2"}},
		{name: "same size", next: big, req: request, want: nil},
		{name: "grow 1 to 3", next: big, req: cookieMap(small), want: nil},
		{name: "sign-out", next: nil, req: request, want: []string{"s", "s_1", "s_2"}},
		{name: "nothing present", next: small, req: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Stale(tt.next, mapGet(tt.req)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Stale = %q, want %q", got, tt.want)
			}
		})
	}
}
