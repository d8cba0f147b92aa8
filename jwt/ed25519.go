package jwt

// Ed25519 public keys that must never be trusted.
//
// A point is encoded as its y coordinate (little-endian, 255 bits) plus the
// sign of x in the top bit. RFC 8032 5.1.3 rejects y >= p; crypto/ed25519
// accepts it, so we do. Points of small order (1, 2, 4, 8) let a forger
// pick signatures that verify for many messages (for the identity, R =
// identity and S = 0 verify for every message). They are exactly the
// points whose y is 0, 1, p-1, y8 or p-y8, where y8 is the y of an order-8
// point; whatever the sign bit. TestEd25519SmallOrder derives these values.

// Little-endian encodings of p, and of the small-order y values.
var (
	edP           = nearP(0xed)
	edSmallOrderY = [...][32]byte{
		{},          // y = 0: order 4
		{0: 0x01},   // y = 1: the identity
		nearP(0xec), // y = p-1: order 2
		{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
			0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05}, // y8
		{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
			0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a}, // p-y8
	}
)

// nearP returns the little-endian encoding of 2^255 - 256 + low.
func nearP(low byte) (b [32]byte) {
	for i := range b {
		b[i] = 0xff
	}
	b[0], b[31] = low, 0x7f
	return b
}

// weakEd25519 reports whether the 32-byte encoding x has a non-canonical y
// or is a point of small order.
func weakEd25519(x []byte) bool {
	var y [32]byte
	copy(y[:], x)
	y[31] &= 0x7f // drop the sign of x
	if !lessLE(y[:], edP[:]) {
		return true
	}
	for _, bad := range edSmallOrderY {
		if y == bad {
			return true
		}
	}
	return false
}

// lessLE reports whether a < b, both little-endian of equal length.
func lessLE(a, b []byte) bool {
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
