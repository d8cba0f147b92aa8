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

	// LoginID names the login this session came from: random, set at login and kept by
	// every refresh, so that a sign-out can name the session (and every copy of its cookie,
	// refreshed or not). Empty in sessions of format 1.
	LoginID string
}

// sessionFormat 2 appends login_id; format 1 (without it) is still read, so sessions sealed
// before the upgrade keep working.
const (
	sessionFormat   = 2
	sessionFormatV1 = 1
)

// MarshalBinary encodes s (format in the package documentation).
func (s *Session) MarshalBinary() ([]byte, error) {
	n, err := encodedLen("session", 2+5*8,
		field{"subject", len(s.Subject)}, field{"session id", len(s.SessionID)},
		field{"issuer", len(s.Issuer)}, field{"claims", len(s.Claims)},
		field{"id token", len(s.IDToken)}, field{"access token", len(s.AccessToken)},
		field{"refresh token", len(s.RefreshToken)}, field{"login id", len(s.LoginID)})
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
	b = appendField(b, s.LoginID)
	return b, nil
}

// UnmarshalBinary decodes data strictly: known format, every length in
// bounds, no trailing bytes. On error s is left unchanged. The string fields
// share one copy of data; Claims is a second.
func (s *Session) UnmarshalBinary(data []byte) error {
	d := decoder{what: "session", s: string(data)}
	f := d.readByte("format")
	if d.err == nil && f != sessionFormat && f != sessionFormatV1 {
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
	if f == sessionFormat {
		v.LoginID = d.readString("login id")
	}
	if err := d.finish(); err != nil {
		return err
	}
	*s = v
	return nil
}
