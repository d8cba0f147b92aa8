package state

import (
	"fmt"
	"strconv"
	"strings"
)

// Cookie is one cookie to set: a name and a value, without attributes.
type Cookie struct {
	Name, Value string
}

// CookieCodec spreads a value (a sealed session) over up to MaxChunks
// cookies of at most MaxCookieSize bytes each, counting name, "=" and value,
// and reassembles it strictly. See "Cookie chunks" in the package
// documentation. Zero fields take the defaults; Validate checks the rest.
type CookieCodec struct {
	Name          string // first chunk's cookie name; further chunks add _1, _2, ...
	MaxCookieSize int    // bytes per cookie including name and "="; 0 means DefaultMaxCookieSize
	MaxChunks     int    // 0 means DefaultMaxChunks
}

// CookieCodec defaults and limits.
const (
	DefaultMaxCookieSize = 3800
	DefaultMaxChunks     = 8
	MinCookieSize        = 128
	MaxCookieSizeLimit   = 4096 // the smallest per-cookie limit browsers must support (RFC 6265 6.1)
	MaxChunksLimit       = 32
	MaxCookieNameLen     = 64
)

// Validate reports whether the codec's fields are usable.
func (c CookieCodec) Validate() error {
	_, _, err := c.limits()
	return err
}

func (c CookieCodec) limits() (size, chunks int, err error) {
	size, chunks = c.MaxCookieSize, c.MaxChunks
	if size == 0 {
		size = DefaultMaxCookieSize
	}
	if chunks == 0 {
		chunks = DefaultMaxChunks
	}
	switch {
	case len(c.Name) == 0 || len(c.Name) > MaxCookieNameLen || !validCookieName(c.Name):
		err = fmt.Errorf("%w: name %q: want 1 to %d token characters", ErrInvalidCodec, c.Name, MaxCookieNameLen)
	case size < MinCookieSize || size > MaxCookieSizeLimit:
		err = fmt.Errorf("%w: cookie %q: max cookie size %d, want %d to %d", ErrInvalidCodec, c.Name, size, MinCookieSize, MaxCookieSizeLimit)
	case chunks < 1 || chunks > MaxChunksLimit:
		err = fmt.Errorf("%w: cookie %q: max chunks %d, want 1 to %d", ErrInvalidCodec, c.Name, chunks, MaxChunksLimit)
	}
	return size, chunks, err
}

// Names returns every cookie name this codec may set, first chunk first,
// for clearing them all (sign-out, or a request that fails to Join). It is
// nil if the codec is invalid.
func (c CookieCodec) Names() []string {
	_, max, err := c.limits()
	if err != nil {
		return nil
	}
	names := c.names(max)
	out := make([]string, max)
	for i := range out {
		out[i] = names.at(i)
	}
	return out
}

// Stale returns the chunk names that get reports present but that the cookies
// in next do not set: the ones to expire alongside next, as when a session
// shrinks from three chunks to one. With next nil it returns every chunk
// cookie present, for sign-out.
func (c CookieCodec) Stale(next []Cookie, get func(name string) (string, bool)) []string {
	_, max, err := c.limits()
	if err != nil {
		return nil
	}
	names := c.names(max)
	var stale []string
	for i := 0; i < max; i++ {
		n := names.at(i)
		if _, ok := get(n); !ok || setsName(next, n) {
			continue
		}
		stale = append(stale, n)
	}
	return stale
}

func setsName(cookies []Cookie, name string) bool {
	for _, c := range cookies {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Split cuts value into the fewest chunk cookies that hold it. value must be
// non-empty cookie-octets (RFC 6265: printable ASCII except space, '"', ',',
// ';' and '\'), as base64url is. Needing more than MaxChunks cookies is
// ErrTooLarge.
func (c CookieCodec) Split(value string) ([]Cookie, error) {
	size, max, err := c.limits()
	if err != nil {
		return nil, err
	}
	if value == "" {
		return nil, fmt.Errorf("%w: cookie %q: empty value", ErrMalformed, c.Name)
	}
	for i := 0; i < len(value); i++ {
		if !cookieOctet(value[i]) {
			return nil, fmt.Errorf("%w: cookie %q: value byte %d is not a cookie-octet", ErrMalformed, c.Name, i)
		}
	}
	names := c.names(max)
	count := 0
	for n := 1; n <= max; n++ {
		if names.capacity(size, n) >= len(value) {
			count = n
			break
		}
	}
	if count == 0 {
		return nil, fmt.Errorf("%w: cookie %q: %d bytes need more than %d cookies of %d bytes",
			ErrTooLarge, c.Name, len(value), max, size)
	}
	out := make([]Cookie, count)
	for i := range out {
		name := names.at(i)
		prefix := chunkPrefix(i, count)
		part := min(size-len(name)-1-len(prefix), len(value))
		out[i] = Cookie{Name: name, Value: prefix + value[:part]}
		value = value[part:]
	}
	return out, nil
}

// Join looks up the chunk cookies with get and reassembles the value. It
// returns ErrNoCookie if none is present, ErrTooLarge if a cookie is over
// MaxCookieSize, and ErrMalformed for a missing, extra, reordered or
// ill-formed chunk. It only reassembles: the value still has to be opened.
func (c CookieCodec) Join(get func(name string) (string, bool)) (string, error) {
	size, max, err := c.limits()
	if err != nil {
		return "", err
	}
	var parts [MaxChunksLimit]string
	count, err := c.join(c.names(max), size, max, get, &parts)
	if err != nil {
		return "", err
	}
	if count == 1 {
		return parts[0], nil
	}
	total := 0
	for _, v := range parts[:count] {
		total += len(v)
	}
	var b strings.Builder
	b.Grow(total)
	for _, v := range parts[:count] {
		b.WriteString(v)
	}
	return b.String(), nil
}

// CookieJoiner is a codec's Join with its chunk names computed once, for a request path that
// joins on every request: AppendJoin reassembles into the caller's buffer and allocates
// nothing (but for an error).
type CookieJoiner struct {
	c         CookieCodec
	size, max int
	names     chunkNames
}

// Joiner returns the codec's joiner, or the codec's error if it is invalid.
func (c CookieCodec) Joiner() (*CookieJoiner, error) {
	size, max, err := c.limits()
	if err != nil {
		return nil, err
	}
	return &CookieJoiner{c: c, size: size, max: max, names: c.names(max)}, nil
}

// AppendJoin reassembles the value Join would return, with the same checks and errors: a
// value in one chunk is returned as single (a slice of that cookie's value, no copy); one
// of several chunks is appended to dst instead (single is "").
func (j *CookieJoiner) AppendJoin(dst []byte, get func(name string) (string, bool)) (single string, _ []byte, _ error) {
	var parts [MaxChunksLimit]string
	count, err := j.c.join(j.names, j.size, j.max, get, &parts)
	if err != nil {
		return "", dst, err
	}
	if count == 1 {
		return parts[0], dst, nil
	}
	for _, v := range parts[:count] {
		dst = append(dst, v...)
	}
	return "", dst, nil
}

// join looks up and checks the chunks (see Join), leaving their payloads in parts[:count].
func (c CookieCodec) join(names chunkNames, size, max int, get func(name string) (string, bool), vals *[MaxChunksLimit]string) (int, error) {
	var present [MaxChunksLimit]bool
	seen := 0
	for i := 0; i < max; i++ {
		vals[i], present[i] = get(names.at(i))
		if !present[i] {
			continue
		}
		seen++
		if l := len(names.at(i)) + 1 + len(vals[i]); l > size {
			return 0, fmt.Errorf("%w: cookie %q is %d bytes, limit %d", ErrTooLarge, names.at(i), l, size)
		}
	}
	if seen == 0 {
		return 0, fmt.Errorf("%w: %q", ErrNoCookie, c.Name)
	}
	if !present[0] {
		return 0, fmt.Errorf("%w: cookie %q: first chunk missing", ErrMalformed, c.Name)
	}
	_, count, _, ok := parseChunk(vals[0])
	if !ok || count > max {
		return 0, fmt.Errorf("%w: cookie %q: bad chunk header", ErrMalformed, c.Name)
	}
	if seen != count {
		return 0, fmt.Errorf("%w: cookie %q: %d chunks present, header says %d", ErrMalformed, c.Name, seen, count)
	}
	for i := 0; i < count; i++ {
		idx, n, payload, ok := parseChunk(vals[i])
		if !present[i] || !ok || idx != i || n != count {
			return 0, fmt.Errorf("%w: cookie %q: chunk %d of %d missing or out of order", ErrMalformed, c.Name, i, count)
		}
		vals[i] = payload
	}
	return count, nil
}

// chunkNames holds every chunk name in one string (one allocation), sliced
// by offsets.
type chunkNames struct {
	all string
	end [MaxChunksLimit]int
}

func (c CookieCodec) names(max int) chunkNames {
	var n chunkNames
	var b strings.Builder
	b.Grow(max*(len(c.Name)+3) + len(c.Name))
	for i := 0; i < max; i++ {
		b.WriteString(c.Name)
		if i > 0 {
			b.WriteByte('_')
			b.WriteString(strconv.Itoa(i))
		}
		n.end[i] = b.Len()
	}
	n.all = b.String()
	return n
}

func (n *chunkNames) at(i int) string {
	start := 0
	if i > 0 {
		start = n.end[i-1]
	}
	return n.all[start:n.end[i]]
}

// capacity is how many value bytes count chunks of at most size bytes hold.
func (n *chunkNames) capacity(size, count int) int {
	total := 0
	for i := 0; i < count; i++ {
		total += size - len(n.at(i)) - 1 - prefixLen(i, count)
	}
	return total
}

// chunkPrefix is "<index>.<count>." in decimal, index from 0.
func chunkPrefix(i, count int) string {
	return strconv.Itoa(i) + "." + strconv.Itoa(count) + "."
}

func prefixLen(i, count int) int {
	return digits(i) + 1 + digits(count) + 1
}

func digits(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// parseChunk splits "<index>.<count>.<payload>". Numbers are canonical
// decimal (no sign, no leading zero), index < count <= MaxChunksLimit, and
// the payload is not empty.
func parseChunk(v string) (idx, count int, payload string, ok bool) {
	idx, v, ok = parseSmallUint(v)
	if !ok {
		return 0, 0, "", false
	}
	count, v, ok = parseSmallUint(v)
	if !ok || count == 0 || count > MaxChunksLimit || idx >= count || v == "" {
		return 0, 0, "", false
	}
	return idx, count, v, true
}

// parseSmallUint parses one or two decimal digits followed by '.'.
func parseSmallUint(v string) (n int, rest string, ok bool) {
	i := 0
	for i < len(v) && i < 3 && '0' <= v[i] && v[i] <= '9' {
		n = n*10 + int(v[i]-'0')
		i++
	}
	if i == 0 || i > 2 || i == len(v) || v[i] != '.' || (i > 1 && v[0] == '0') {
		return 0, "", false
	}
	return n, v[i+1:], true
}

// cookieOctet reports whether b may appear in a cookie value (RFC 6265 4.1.1).
func cookieOctet(b byte) bool {
	return b == 0x21 || 0x23 <= b && b <= 0x2B || 0x2D <= b && b <= 0x3A ||
		0x3C <= b && b <= 0x5B || 0x5D <= b && b <= 0x7E
}

// validCookieName reports whether name is an RFC 7230 token (RFC 6265 4.1.1).
func validCookieName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= 0x20 || c >= 0x7F || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}
