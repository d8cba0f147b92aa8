package state

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Payload encodings: a format byte, fixed-size fields, then strings each
// prefixed with a big-endian uint16 length. Times are int64 Unix seconds,
// big-endian, with 0 standing for the zero time.Time.

const maxField = math.MaxUint16

// zeroUnix is time.Time{}.Unix().
const zeroUnix = -62135596800

// field is one variable-length field, for size checks before encoding.
type field struct {
	name string
	n    int
}

// encodedLen checks every field against maxField and returns the encoded
// size of fixed bytes plus the fields.
func encodedLen(what string, fixed int, fields ...field) (int, error) {
	n := fixed
	for _, f := range fields {
		if f.n > maxField {
			return 0, fmt.Errorf("%w: %s: %s is %d bytes, limit %d", ErrTooLarge, what, f.name, f.n, maxField)
		}
		n += 2 + f.n
	}
	return n, nil
}

func appendField[T string | []byte](b []byte, v T) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

func appendTime(b []byte, t time.Time) []byte {
	var s int64
	if !t.IsZero() {
		s = t.Unix()
	}
	return binary.BigEndian.AppendUint64(b, uint64(s))
}

// decoder reads a payload held in one string, so every string field it
// returns shares that single allocation. The first error sticks.
type decoder struct {
	what string // "session" or "login state", for errors
	s    string
	err  error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s: "+format, append([]any{ErrMalformed, d.what}, args...)...)
	}
}

func (d *decoder) readByte(name string) byte {
	if d.err != nil || len(d.s) < 1 {
		d.fail("%s truncated", name)
		return 0
	}
	v := d.s[0]
	d.s = d.s[1:]
	return v
}

func (d *decoder) readTime(name string) time.Time {
	if d.err != nil || len(d.s) < 8 {
		d.fail("%s truncated", name)
		return time.Time{}
	}
	s := int64(binary.BigEndian.Uint64([]byte(d.s[:8])))
	d.s = d.s[8:]
	switch s {
	case 0:
		return time.Time{}
	case zeroUnix:
		// time.Time{} itself, which only 0 may encode.
		d.fail("%s is the zero time", name)
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

func (d *decoder) readString(name string) string {
	if d.err != nil || len(d.s) < 2 {
		d.fail("%s truncated", name)
		return ""
	}
	n := int(d.s[0])<<8 | int(d.s[1])
	if len(d.s)-2 < n {
		d.fail("%s truncated", name)
		return ""
	}
	v := d.s[2 : 2+n]
	d.s = d.s[2+n:]
	return v
}

// readBytes is readString as a copy, nil when empty.
func (d *decoder) readBytes(name string) []byte {
	v := d.readString(name)
	if v == "" {
		return nil
	}
	return []byte(v)
}

// finish fails on trailing bytes and returns the first error.
func (d *decoder) finish() error {
	if d.err == nil && len(d.s) != 0 {
		d.fail("%d trailing bytes", len(d.s))
	}
	return d.err
}
