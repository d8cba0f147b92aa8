package state

import (
	"fmt"
	"time"
)

// Session is the logged-in session the session cookie carries (sealed with
// PurposeSession). Times have second precision.
type Session struct {
	// Version is the caller's session schema version, carried as is (the
	// encoding has its own format byte); a filter can bump it to retire
	// sessions written under an older schema.
	Version uint8

	Subject, SessionID, Issuer string
	// Claims is the raw JSON object of the selected claims.
	Claims []byte

	IDToken, AccessToken, RefreshToken string

	IDTokenExpiry, AccessTokenExpiry, AuthTime, IssuedAt time.Time
	Expiry                                               time.Time // absolute session end
}

const sessionFormat = 1

// MarshalBinary encodes s (format in the package documentation).
func (s *Session) MarshalBinary() ([]byte, error) {
	n, err := encodedLen("session", 2+5*8,
		field{"subject", len(s.Subject)}, field{"session id", len(s.SessionID)},
		field{"issuer", len(s.Issuer)}, field{"claims", len(s.Claims)},
		field{"id token", len(s.IDToken)}, field{"access token", len(s.AccessToken)},
		field{"refresh token", len(s.RefreshToken)})
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, n)
	b = append(b, sessionFormat, s.Version)
	b = appendTime(b, s.IDTokenExpiry)
	b = appendTime(b, s.AccessTokenExpiry)
	b = appendTime(b, s.AuthTime)
	b = appendTime(b, s.IssuedAt)
	b = appendTime(b, s.Expiry)
	b = appendField(b, s.Subject)
	b = appendField(b, s.SessionID)
	b = appendField(b, s.Issuer)
	b = appendField(b, s.Claims)
	b = appendField(b, s.IDToken)
	b = appendField(b, s.AccessToken)
	b = appendField(b, s.RefreshToken)
	return b, nil
}

// UnmarshalBinary decodes data strictly: known format, every length in
// bounds, no trailing bytes. On error s is left unchanged. The string fields
// share one copy of data; Claims is a second.
func (s *Session) UnmarshalBinary(data []byte) error {
	d := decoder{what: "session", s: string(data)}
	if f := d.readByte("format"); d.err == nil && f != sessionFormat {
		return fmt.Errorf("%w: session: unknown format %d", ErrMalformed, f)
	}
	v := Session{Version: d.readByte("version")}
	v.IDTokenExpiry = d.readTime("id token expiry")
	v.AccessTokenExpiry = d.readTime("access token expiry")
	v.AuthTime = d.readTime("auth time")
	v.IssuedAt = d.readTime("issued at")
	v.Expiry = d.readTime("expiry")
	v.Subject = d.readString("subject")
	v.SessionID = d.readString("session id")
	v.Issuer = d.readString("issuer")
	v.Claims = d.readBytes("claims")
	v.IDToken = d.readString("id token")
	v.AccessToken = d.readString("access token")
	v.RefreshToken = d.readString("refresh token")
	if err := d.finish(); err != nil {
		return err
	}
	*s = v
	return nil
}
