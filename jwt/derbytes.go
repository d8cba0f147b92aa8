package jwt

import (
	"math/big"
)

// A minimal DER reader and writer for der.go, with the rules of
// golang.org/x/crypto/cryptobyte (which plugin.wasm would otherwise link beside the standard
// library's own vendored copy): low tag numbers only, definite minimal lengths, minimal
// two's-complement integers, base-128 OID arcs without padding, BIT STRING padding bits zero.

// DER tags (universal class, and the context-specific constructed [0] and [1]).
const (
	tagInteger     = 0x02
	tagBitString   = 0x03
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagExplicit0   = 0xa0
	tagExplicit1   = 0xa1
)

// derInput is DER yet to be read.
type derInput []byte

// element reads one element: its tag, its contents, ok.
func (d *derInput) element() (tag byte, body derInput, ok bool) {
	s := *d
	if len(s) < 2 || s[0]&0x1f == 0x1f {
		return 0, nil, false // high tag numbers are not DER we read
	}
	tag, n, header := s[0], int(s[1]), 2
	if n&0x80 != 0 {
		lenLen := n & 0x7f
		if lenLen == 0 || lenLen > 4 || len(s) < 2+lenLen || s[2] == 0 {
			return 0, nil, false // indefinite, too long, or not minimal
		}
		n = 0
		for _, b := range s[2 : 2+lenLen] {
			n = n<<8 | int(b)
		}
		if n < 128 || n > 1<<31-1 {
			return 0, nil, false // should have been short, or overflows
		}
		header += lenLen
	}
	if len(s)-header < n {
		return 0, nil, false
	}
	*d = s[header+n:]
	return tag, s[header : header+n], true
}

// read reads an element with the given tag.
func (d *derInput) read(tag byte) (derInput, bool) {
	save := *d
	t, body, ok := d.element()
	if !ok || t != tag {
		*d = save
		return nil, false
	}
	return body, true
}

// peek reports whether the next element has the given tag.
func (d derInput) peek(tag byte) bool { return len(d) > 0 && d[0] == tag }

// skip reads and drops an element with the given tag.
func (d *derInput) skip(tag byte) bool {
	_, ok := d.read(tag)
	return ok
}

// skipOptional drops an element with the given tag if one comes next.
func (d *derInput) skipOptional(tag byte) bool { return !d.peek(tag) || d.skip(tag) }

// integerBytes reads an INTEGER's minimal two's-complement contents.
func (d *derInput) integerBytes() ([]byte, bool) {
	b, ok := d.read(tagInteger)
	switch {
	case !ok || len(b) == 0:
		return nil, false
	case len(b) > 1 && (b[0] == 0 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 != 0):
		return nil, false // not minimal
	}
	return b, true
}

// bigInt reads an INTEGER of any size and sign.
func (d *derInput) bigInt(out *big.Int) bool {
	b, ok := d.integerBytes()
	if !ok {
		return false
	}
	if b[0]&0x80 == 0 {
		out.SetBytes(b)
		return true
	}
	neg := make([]byte, len(b)) // -(^b + 1) is the two's-complement value
	for i := range b {
		neg[i] = ^b[i]
	}
	out.SetBytes(neg).Add(out, big.NewInt(1)).Neg(out)
	return true
}

// smallInt reads an INTEGER that fits an int64 (versions, RSA public exponents).
func (d *derInput) smallInt(out *int) bool {
	b, ok := d.integerBytes()
	if !ok || len(b) > 8 {
		return false
	}
	v := int64(int8(b[0])) // sign-extended
	for _, c := range b[1:] {
		v = v<<8 | int64(c)
	}
	*out = int(v)
	return true
}

// oid reads an OBJECT IDENTIFIER's contents, checked as cryptobyte checks them (each arc
// base-128 without a leading 0x80, under 2^31), and returns them raw: they are compared with
// the known OIDs' DER contents.
func (d *derInput) oid() (string, bool) {
	save := *d
	b, ok := d.read(tagOID)
	if !ok || len(b) == 0 || b[len(b)-1]&0x80 != 0 {
		*d = save
		return "", false
	}
	start := 0
	for i, c := range b {
		if i == start && c == 0x80 || i-start >= 5 || i-start == 4 && b[start] > 0x87 {
			*d = save
			return "", false
		}
		if c&0x80 == 0 {
			start = i + 1
		}
	}
	return string(b), true
}

// bitString reads a BIT STRING whose unused bits are zero: its bytes and bit length.
func (d *derInput) bitString() ([]byte, int, bool) {
	b, ok := d.read(tagBitString)
	if !ok || len(b) == 0 {
		return nil, 0, false
	}
	pad := int(b[0])
	if pad > 7 || len(b) == 1 && pad > 0 || b[len(b)-1]&(1<<pad-1) != 0 {
		return nil, 0, false
	}
	return b[1:], (len(b)-1)*8 - pad, true
}

// derElement encodes an element from its tag and contents.
func derElement(tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// derUint encodes a non-negative INTEGER.
func derUint(v *big.Int) []byte {
	b := v.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return derElement(tagInteger, b)
}
