package state

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func sampleSession() Session {
	return Session{
		Version:           3,
		Subject:           "248289761001",
		SessionID:         "08a5019c-17e1-4977-8f42-65a12843ea02",
		Issuer:            "https://login.example.com/tenant/v2.0",
		Claims:            []byte(`{"email":"jane@example.com","groups":["a","b"]}`),
		IDToken:           "eyJhbGciOiJSUzI1NiJ9." + strings.Repeat("i", 900) + ".sig",
		AccessToken:       "eyJhbGciOiJSUzI1NiJ9." + strings.Repeat("a", 1400) + ".sig",
		RefreshToken:      strings.Repeat("r", 700),
		LoginID:           "0123456789abcdef0123456789abcdef",
		IDTokenExpiry:     t0.Add(time.Hour),
		AccessTokenExpiry: t0.Add(50 * time.Minute),
		AuthTime:          t0.Add(-time.Minute),
		IssuedAt:          t0,
		Expiry:            t0.Add(12 * time.Hour),
	}
}

func sampleLoginState() LoginState {
	return LoginState{
		Verifier:    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
		Nonce:       "n-0S6_WzA2Mj",
		ReturnPath:  "/app/dashboard?tab=2",
		IssuedAt:    t0,
		BindingHash: BindingHash("binding-cookie-value"),
	}
}

func TestSessionRoundTrip(t *testing.T) {
	full := sampleSession()
	tests := []struct {
		name string
		s    Session
	}{
		{name: "full", s: full},
		{name: "zero", s: Session{}},
		{name: "no refresh token or claims", s: Session{Subject: "x", IDToken: "t", Expiry: t0}},
		{name: "field at limit", s: Session{AccessToken: strings.Repeat("a", maxField)}},
		{name: "negative time", s: Session{AuthTime: time.Unix(-1, 0).UTC()}},
		{name: "year 1", s: Session{AuthTime: time.Time{}.Add(time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Session
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.s) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tt.s)
			}
		})
	}
}

func TestSessionTimesAreSeconds(t *testing.T) {
	s := Session{Expiry: t0.Add(1500 * time.Millisecond).In(time.FixedZone("x", 3600))}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Session
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(time.Second); got.Expiry != want {
		t.Fatalf("Expiry = %v, want %v (UTC, truncated to the second)", got.Expiry, want)
	}
}

func TestLoginStateRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		l    LoginState
	}{
		{name: "full", l: sampleLoginState()},
		{name: "zero", l: LoginState{}},
		{name: "long return path", l: LoginState{ReturnPath: "/" + strings.Repeat("p", 4000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.l.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got LoginState
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.l) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tt.l)
			}
		})
	}
}

func TestMarshalTooLarge(t *testing.T) {
	s := Session{Claims: make([]byte, maxField+1)}
	if _, err := s.MarshalBinary(); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "claims") {
		t.Fatalf("Session.MarshalBinary = %v, want ErrTooLarge naming claims", err)
	}
	l := LoginState{ReturnPath: strings.Repeat("/", maxField+1)}
	if _, err := l.MarshalBinary(); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "return path") {
		t.Fatalf("LoginState.MarshalBinary = %v, want ErrTooLarge naming return path", err)
	}
}

// unmarshaler is what both payload types share, for the malformed-input
// tables.
type unmarshaler interface {
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

func TestUnmarshalMalformed(t *testing.T) {
	s, l := sampleSession(), sampleLoginState()
	for _, v := range []struct {
		name  string
		valid unmarshaler
		fresh func() unmarshaler
	}{
		{name: "session", valid: &s, fresh: func() unmarshaler { x := sampleSession(); return &x }},
		{name: "login state", valid: &l, fresh: func() unmarshaler { x := sampleLoginState(); return &x }},
	} {
		good, err := v.valid.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			in   []byte
		}{
			{name: "nil", in: nil},
			{name: "format only", in: good[:1]},
			{name: "unknown format", in: append([]byte{9}, good[1:]...)},
			{name: "format zero", in: append([]byte{0}, good[1:]...)},
			{name: "last byte cut", in: good[:len(good)-1]},
			{name: "trailing byte", in: append(append([]byte(nil), good...), 0)},
			{name: "length overruns", in: func() []byte {
				b := append([]byte(nil), good...)
				b[len(b)-len(sampleTail(v.name))-2] = 0xff // high byte of the last field's length
				return b
			}()},
		}
		for i := 1; i < len(good); i += 7 {
			tests = append(tests, struct {
				name string
				in   []byte
			}{name: "cut at " + strconv.Itoa(i), in: good[:i]})
		}
		for _, tt := range tests {
			t.Run(v.name+"/"+tt.name, func(t *testing.T) {
				target := v.fresh()
				before, _ := target.MarshalBinary()
				err := target.UnmarshalBinary(tt.in)
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("UnmarshalBinary = %v, want ErrMalformed", err)
				}
				after, _ := target.MarshalBinary()
				if !bytes.Equal(before, after) {
					t.Fatal("UnmarshalBinary changed its receiver on error")
				}
				if strings.Contains(err.Error(), "eyJ") || strings.Contains(err.Error(), "rrrr") {
					t.Fatalf("error %q contains payload bytes", err)
				}
			})
		}
	}
}

// sampleTail is the last field of each sample payload.
func sampleTail(name string) string {
	if name == "session" {
		return sampleSession().LoginID
	}
	return string(sampleLoginState().BindingHash)
}

func TestBindingHash(t *testing.T) {
	a, b := BindingHash("value-a"), BindingHash("value-b")
	tests := []struct {
		name string
		x, y []byte
		want bool
	}{
		{name: "same", x: a, y: BindingHash("value-a"), want: true},
		{name: "different", x: a, y: b},
		{name: "both empty", x: nil, y: []byte{}},
		{name: "one empty", x: a, y: nil},
		{name: "prefix", x: a, y: a[:16]},
		{name: "both short and equal", x: a[:16], y: a[:16]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EqualBindingHash(tt.x, tt.y); got != tt.want {
				t.Fatalf("EqualBindingHash = %v, want %v", got, tt.want)
			}
		})
	}
	if len(a) != BindingHashSize {
		t.Fatalf("BindingHash is %d bytes", len(a))
	}
}

func TestNewBindingValue(t *testing.T) {
	v1, err := NewBindingValue(bytes.NewReader(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if v1 != strings.Repeat("A", 43) {
		t.Fatalf("NewBindingValue(zeros) = %q", v1)
	}
	if _, err := NewBindingValue(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("NewBindingValue with a short reader: no error")
	}
}

// Sessions sealed before login_id existed (format 1) still open, with an empty LoginID.
func TestSessionFormat1StillDecodes(t *testing.T) {
	s := sampleSession()
	s.LoginID = ""
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	v1 := append([]byte{1}, b[1:len(b)-2]...) // format 1: no login_id field (its 2 length bytes)
	var got Session
	if err := got.UnmarshalBinary(v1); err != nil {
		t.Fatalf("format 1: %v", err)
	}
	if got.RefreshToken != s.RefreshToken || got.LoginID != "" || got.Subject != s.Subject {
		t.Errorf("format 1 decoded as %+v", got)
	}
	if err := got.UnmarshalBinary(append(v1, 0, 0)); err == nil {
		t.Error("format 1 with a trailing login_id field decoded")
	}
}
