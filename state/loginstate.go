package state

import (
	"fmt"
	"time"
)

// LoginState is what the state parameter carries from the authorization
// redirect to the callback (sealed with PurposeState).
type LoginState struct {
	Verifier    string    // PKCE code_verifier
	Nonce       string    // OIDC nonce, expected in the ID token
	ReturnPath  string    // same-origin relative path to return to
	IssuedAt    time.Time // second precision
	BindingHash []byte    // BindingHash of the browser-binding cookie
}

const loginStateFormat = 1

// MarshalBinary encodes l (format in the package documentation).
func (l *LoginState) MarshalBinary() ([]byte, error) {
	n, err := encodedLen("login state", 1+8,
		field{"verifier", len(l.Verifier)}, field{"nonce", len(l.Nonce)},
		field{"return path", len(l.ReturnPath)}, field{"binding hash", len(l.BindingHash)})
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, n)
	b = append(b, loginStateFormat)
	b = appendTime(b, l.IssuedAt)
	b = appendField(b, l.Verifier)
	b = appendField(b, l.Nonce)
	b = appendField(b, l.ReturnPath)
	b = appendField(b, l.BindingHash)
	return b, nil
}

// UnmarshalBinary decodes data strictly: known format, every length in
// bounds, no trailing bytes. On error l is left unchanged.
func (l *LoginState) UnmarshalBinary(data []byte) error {
	d := decoder{what: "login state", s: string(data)}
	if f := d.readByte("format"); d.err == nil && f != loginStateFormat {
		return fmt.Errorf("%w: login state: unknown format %d", ErrMalformed, f)
	}
	v := LoginState{IssuedAt: d.readTime("issued_at")}
	v.Verifier = d.readString("verifier")
	v.Nonce = d.readString("nonce")
	v.ReturnPath = d.readString("return path")
	v.BindingHash = d.readBytes("binding hash")
	if err := d.finish(); err != nil {
		return err
	}
	*l = v
	return nil
}
