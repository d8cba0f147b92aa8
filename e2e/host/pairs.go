package host

import (
	"encoding/binary"
	"strings"
)

// A headerMap is an ordered multimap of lowercase header names, pseudo-headers
// first, like Envoy's HeaderMapImpl seen through the ABI.
type headerMap struct {
	pairs [][2]string
}

func (m *headerMap) len() int { return len(m.pairs) }

// get returns the first value of key (Envoy returns only the first, too).
func (m *headerMap) get(key string) (string, bool) {
	key = strings.ToLower(key)
	for _, p := range m.pairs {
		if p[0] == key {
			return p[1], true
		}
	}
	return "", false
}

// add appends key: value; a pseudo-header goes after the last pseudo-header.
func (m *headerMap) add(key, value string) {
	key = strings.ToLower(key)
	if !strings.HasPrefix(key, ":") {
		m.pairs = append(m.pairs, [2]string{key, value})
		return
	}
	i := 0
	for i < len(m.pairs) && strings.HasPrefix(m.pairs[i][0], ":") {
		i++
	}
	m.pairs = append(m.pairs, [2]string{})
	copy(m.pairs[i+1:], m.pairs[i:])
	m.pairs[i] = [2]string{key, value}
}

// replace sets the first occurrence of key to value and drops the others, or
// adds key if it is absent (Envoy's setCopy).
func (m *headerMap) replace(key, value string) {
	key = strings.ToLower(key)
	found := false
	out := m.pairs[:0]
	for _, p := range m.pairs {
		if p[0] == key {
			if found {
				continue
			}
			found = true
			p[1] = value
		}
		out = append(out, p)
	}
	m.pairs = out
	if !found {
		m.add(key, value)
	}
}

// remove drops every occurrence of key.
func (m *headerMap) remove(key string) {
	key = strings.ToLower(key)
	out := m.pairs[:0]
	for _, p := range m.pairs {
		if p[0] != key {
			out = append(out, p)
		}
	}
	m.pairs = out
}

// setAll replaces the whole map (proxy_set_header_map_pairs).
func (m *headerMap) setAll(pairs [][2]string) {
	m.pairs = m.pairs[:0]
	for _, p := range pairs {
		m.add(p[0], p[1])
	}
}

func (m *headerMap) clone() *headerMap {
	return &headerMap{pairs: append([][2]string(nil), m.pairs...)}
}

// encodePairs serializes pairs in the proxy-wasm map format: a little-endian
// u32 count, then a u32 key size and a u32 value size per pair, then every key
// and value, each followed by a NUL.
func encodePairs(pairs [][2]string) []byte {
	size := 4
	for _, p := range pairs {
		size += 8 + len(p[0]) + 1 + len(p[1]) + 1
	}
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b, uint32(len(pairs)))
	sizes := b[4:]
	data := b[4+8*len(pairs):]
	for i, p := range pairs {
		binary.LittleEndian.PutUint32(sizes[8*i:], uint32(len(p[0])))
		binary.LittleEndian.PutUint32(sizes[8*i+4:], uint32(len(p[1])))
		n := copy(data, p[0])
		data = data[n+1:]
		n = copy(data, p[1])
		data = data[n+1:]
	}
	return b
}

// decodePairs parses the proxy-wasm map format. Like proxy-wasm-cpp-host's
// PairsUtil::toPairs, malformed input yields no pairs.
func decodePairs(b []byte) [][2]string {
	if len(b) < 4 {
		return nil
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if n == 0 || n > uint64(len(b)-4)/8 {
		return nil
	}
	sizes := b[4 : 4+8*n]
	data := b[4+8*n:]
	pairs := make([][2]string, 0, n)
	for i := uint64(0); i < n; i++ {
		ks := uint64(binary.LittleEndian.Uint32(sizes[8*i:]))
		vs := uint64(binary.LittleEndian.Uint32(sizes[8*i+4:]))
		if ks+1+vs+1 > uint64(len(data)) {
			return nil
		}
		k := string(data[:ks])
		data = data[ks+1:]
		v := string(data[:vs])
		data = data[vs+1:]
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs
}
