package engine

import "encoding/base64"

// BindingLen is the length of a browser-binding cookie's value: base64url of 32 random bytes.
const BindingLen = 43

// ValidBinding reports whether a browser-binding cookie's value has the shape the filter
// mints (BindingLen characters of unpadded base64url); any other value is replaced by a
// fresh one rather than trusted.
func ValidBinding(v string) bool {
	if len(v) != BindingLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}
