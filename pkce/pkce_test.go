package pkce

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type appendixB struct {
	RandomOctets []byte `json:"-"`
	Octets       []int  `json:"random_octets"`
	Verifier     string `json:"code_verifier"`
	SHA256Octets []int  `json:"sha256_octets"`
	Challenge    string `json:"code_challenge"`
	Method       string `json:"code_challenge_method"`
}

func loadAppendixB(t *testing.T) appendixB {
	t.Helper()
	raw, err := os.ReadFile("testdata/rfc7636_appendix_b.json")
	if err != nil {
		t.Fatal(err)
	}
	var v appendixB
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	for _, o := range v.Octets {
		v.RandomOctets = append(v.RandomOctets, byte(o))
	}
	return v
}

func TestRFC7636AppendixB(t *testing.T) {
	v := loadAppendixB(t)
	if v.Method != Method {
		t.Fatalf("vector method %q, Method %q", v.Method, Method)
	}
	got, err := NewVerifier(bytes.NewReader(v.RandomOctets))
	if err != nil {
		t.Fatal(err)
	}
	if got != v.Verifier {
		t.Errorf("NewVerifier(appendix B octets) = %q, want %q", got, v.Verifier)
	}
	if err := ValidVerifier(v.Verifier); err != nil {
		t.Errorf("ValidVerifier(appendix B verifier) = %v", err)
	}
	if c := Challenge(v.Verifier); c != v.Challenge {
		t.Errorf("Challenge = %q, want %q", c, v.Challenge)
	}
	sum, err := base64.RawURLEncoding.DecodeString(v.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range v.SHA256Octets {
		if int(sum[i]) != o {
			t.Fatalf("challenge octet %d = %d, want %d", i, sum[i], o)
		}
	}
	if !Verify(v.Verifier, v.Challenge) {
		t.Error("Verify(appendix B) = false")
	}
}

func TestNewVerifier(t *testing.T) {
	a, err := NewVerifier(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewVerifier(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 43 {
		t.Errorf("len = %d, want 43", len(a))
	}
	if a == b {
		t.Error("two verifiers from crypto/rand are equal")
	}
	if err := ValidVerifier(a); err != nil {
		t.Errorf("ValidVerifier(new) = %v", err)
	}
}

func TestNewVerifierShortRead(t *testing.T) {
	v, err := NewVerifier(bytes.NewReader(make([]byte, 31)))
	if err == nil {
		t.Fatalf("NewVerifier with 31 random bytes = %q, want error", v)
	}
	if v != "" {
		t.Errorf("verifier %q returned with error", v)
	}
}

func TestValidVerifier(t *testing.T) {
	tests := []struct {
		name    string
		v       string
		wantErr bool
	}{
		{name: "min length", v: strings.Repeat("a", 43)},
		{name: "max length", v: strings.Repeat("Z", 128)},
		{name: "all unreserved", v: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"},
		{name: "empty", v: "", wantErr: true},
		{name: "too short", v: strings.Repeat("a", 42), wantErr: true},
		{name: "too long", v: strings.Repeat("a", 129), wantErr: true},
		{name: "plus", v: strings.Repeat("a", 42) + "+", wantErr: true},
		{name: "slash", v: "/" + strings.Repeat("a", 42), wantErr: true},
		{name: "padding", v: strings.Repeat("a", 42) + "=", wantErr: true},
		{name: "space", v: strings.Repeat("a", 21) + " " + strings.Repeat("a", 21), wantErr: true},
		{name: "non-ascii", v: strings.Repeat("a", 42) + "é", wantErr: true},
		{name: "nul", v: strings.Repeat("a", 42) + "\x00", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidVerifier(tt.v)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ValidVerifier = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidVerifier) {
					t.Errorf("error %v does not wrap ErrInvalidVerifier", err)
				}
				if len(tt.v) > 0 && strings.Contains(err.Error(), tt.v) {
					t.Errorf("error %q quotes the verifier", err)
				}
			}
		})
	}
}

func TestVerify(t *testing.T) {
	v := loadAppendixB(t)
	tests := []struct {
		name      string
		verifier  string
		challenge string
		want      bool
	}{
		{name: "match", verifier: v.Verifier, challenge: v.Challenge, want: true},
		{name: "plain method rejected", verifier: v.Verifier, challenge: v.Verifier},
		{name: "other verifier", verifier: strings.Repeat("a", 43), challenge: v.Challenge},
		{name: "padded challenge", verifier: v.Verifier, challenge: v.Challenge + "="},
		{name: "empty challenge", verifier: v.Verifier, challenge: ""},
		{name: "invalid verifier with its own challenge", verifier: "short", challenge: Challenge("short")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.verifier, tt.challenge); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzValidVerifier(f *testing.F) {
	f.Add("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
	f.Add(strings.Repeat("~", 128))
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		err := ValidVerifier(v)
		if err != nil {
			if !errors.Is(err, ErrInvalidVerifier) {
				t.Fatalf("error %v does not wrap ErrInvalidVerifier", err)
			}
			return
		}
		// Anything valid is safe in a form body and a URL without escaping,
		// and its challenge is always 43 base64url characters.
		if len(v) < 43 || len(v) > 128 || strings.ContainsAny(v, "+/= %&") {
			t.Fatalf("accepted invalid verifier of length %d", len(v))
		}
		if c := Challenge(v); len(c) != 43 || !Verify(v, c) {
			t.Fatalf("challenge %q does not verify", c)
		}
	})
}
