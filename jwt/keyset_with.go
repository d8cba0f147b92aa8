package jwt

// With returns a new set holding s's keys and copies of keys, which are checked as
// NewKeySet checks them (a refused key is reported by Skipped). s is not changed. The
// plugin uses it to add the client secret, as the HMAC key of OpenID Connect Core 10.1, to
// the provider's published keys.
func (s *KeySet) With(keys ...*Key) *KeySet {
	extra := NewKeySet(keys...)
	out := &KeySet{}
	if s != nil {
		out.keys = append(out.keys, s.keys...)
		out.skipped = append(out.skipped, s.skipped...)
	}
	out.keys = append(out.keys, extra.keys...)
	out.skipped = append(out.skipped, extra.skipped...)
	return out
}
