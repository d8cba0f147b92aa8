package filter

import (
	"mime"
	"testing"
)

// mimeSaysForm is the check isFormContentType replaces.
func mimeSaysForm(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && mt == formMediaType
}

var contentTypes = []string{
	"application/x-www-form-urlencoded",
	"Application/X-WWW-Form-URLEncoded",
	"  application/x-www-form-urlencoded  ",
	"application/x-www-form-urlencoded;",
	"application/x-www-form-urlencoded; ;",
	"application/x-www-form-urlencoded;;",
	"application/x-www-form-urlencoded; charset=utf-8",
	"application/x-www-form-urlencoded ; charset = \"utf-8\" ; x=1",
	"application/x-www-form-urlencoded; charset=utf-8; charset=utf-8",
	"application/x-www-form-urlencoded; charset=utf-8; CHARSET=latin1",
	"application/x-www-form-urlencoded; charset=\"a\\\"b\"; charset=\"a\\\"b\"",
	"application/x-www-form-urlencoded; charset=\"unterminated",
	"application/x-www-form-urlencoded; charset=\"a\rb\"",
	"application/x-www-form-urlencoded; charset=\"\"",
	"application/x-www-form-urlencoded; charset=",
	"application/x-www-form-urlencoded; charset",
	"application/x-www-form-urlencoded; =utf-8",
	"application/x-www-form-urlencoded; a*=utf-8''x; a*0=y",
	"application/x-www-form-urlencoded junk",
	"application/x-www-form-urlencoded/x",
	"application/x-www-form-urlencoded\u00a0",
	"\u00a0application/x-www-form-urlencoded; a=b\u00a0",
	"application/x-www-form-urlencoded; a=b c",
	"application/x-www-form-urlencoded; a=b; ",
	"application/x-www-form-urlencoded; a=\"C:\\dev\\x\"",
	"application/json",
	"multipart/form-data; boundary=x",
	"",
	";",
	"application/x-www-form-urlencode\u212a",
}

func TestIsFormContentTypeIsMimes(t *testing.T) {
	for _, v := range contentTypes {
		if got, want := isFormContentType(v), mimeSaysForm(v); got != want {
			t.Errorf("%q: %v, mime.ParseMediaType says %v", v, got, want)
		}
	}
}

func FuzzIsFormContentType(f *testing.F) {
	for _, v := range contentTypes {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := isFormContentType(v), mimeSaysForm(v); got != want {
			t.Fatalf("%q: %v, mime.ParseMediaType says %v", v, got, want)
		}
	})
}
