package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"
)

// The JSON is read in two steps. First the token stream becomes a small tree
// (jsonNode) that keeps member order, so duplicate keys are caught and every
// syntax error names the path being read. Then bind.go copies the tree into
// the raw* structs, reporting every unknown key and wrong type, not just the
// first one as encoding/json's Decoder.DisallowUnknownFields would.

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

func (k jsonKind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}[k]
}

type jsonNode struct {
	kind  jsonKind
	str   string      // a string's value, or a number's literal text
	b     bool        // a boolean's value
	keys  []string    // an object's member names, in document order
	elems []*jsonNode // an array's elements, or an object's member values
}

// maxDepth bounds nesting; the deepest valid config is five levels.
const maxDepth = 32

type treeReader struct {
	dec  *json.Decoder
	data []byte
	p    *problems
}

// parseTree reads data into a tree. On a syntax error it records one problem
// and returns nil.
func parseTree(data []byte, p *problems) *jsonNode {
	if len(bytes.TrimSpace(data)) == 0 {
		p.decodeFail("", "empty configuration: need at least provider, client and keys")
		return nil
	}
	if !utf8.Valid(data) {
		p.decodeFail("", "not valid UTF-8 (%s)", position(data, int64(firstInvalidUTF8(data))))
		return nil
	}
	r := &treeReader{dec: json.NewDecoder(bytes.NewReader(data)), data: data, p: p}
	r.dec.UseNumber()
	root, ok := r.value("", 0)
	if !ok {
		return nil
	}
	if _, err := r.dec.Token(); err != io.EOF {
		p.decodeFail("", "unexpected data after the configuration object (%s)", position(data, r.dec.InputOffset()))
		return nil
	}
	return root
}

func (r *treeReader) value(path string, depth int) (*jsonNode, bool) {
	if depth > maxDepth {
		r.p.decodeFail(path, "nested too deeply (%s)", position(r.data, r.dec.InputOffset()))
		return nil, false
	}
	tok, err := r.dec.Token()
	if err != nil {
		r.syntax(path, err)
		return nil, false
	}
	switch t := tok.(type) {
	case nil:
		return &jsonNode{kind: jsonNull}, true
	case bool:
		return &jsonNode{kind: jsonBool, b: t}, true
	case json.Number:
		return &jsonNode{kind: jsonNumber, str: string(t)}, true
	case string:
		return &jsonNode{kind: jsonString, str: t}, true
	case json.Delim:
		if t == '[' {
			return r.array(path, depth)
		}
		return r.object(path, depth) // '{': Token never returns a closing delimiter here
	}
	r.p.decodeFail(path, "unexpected JSON token (%s)", position(r.data, r.dec.InputOffset()))
	return nil, false
}

func (r *treeReader) array(path string, depth int) (*jsonNode, bool) {
	n := &jsonNode{kind: jsonArray}
	for r.dec.More() {
		e, ok := r.value(indexPath(path, len(n.elems)), depth+1)
		if !ok {
			return nil, false
		}
		n.elems = append(n.elems, e)
	}
	return n, r.closing(path)
}

func (r *treeReader) object(path string, depth int) (*jsonNode, bool) {
	n := &jsonNode{kind: jsonObject}
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			r.syntax(path, err)
			return nil, false
		}
		key, _ := tok.(string) // the decoder only returns strings in key position
		kp := keyPath(path, key)
		v, ok := r.value(kp, depth+1)
		if !ok {
			return nil, false
		}
		if n.member(key) != nil {
			r.p.decodeFail(kp, "duplicate key")
			continue
		}
		n.keys = append(n.keys, key)
		n.elems = append(n.elems, v)
	}
	return n, r.closing(path)
}

func (r *treeReader) closing(path string) bool {
	if _, err := r.dec.Token(); err != nil {
		r.syntax(path, err)
		return false
	}
	return true
}

// syntax records a JSON syntax error. The decoder's message may quote one
// character of the input; inside a secret that character is withheld.
func (r *treeReader) syntax(path string, err error) {
	off := r.dec.InputOffset()
	msg := "invalid JSON"
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		off = se.Offset
		if !isSecretPath(path) {
			msg = "invalid JSON: " + se.Error()
		}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		off = int64(len(r.data))
		msg = "invalid JSON: unexpected end of input"
	}
	r.p.decodeFail(path, "%s (%s)", msg, position(r.data, off))
}

func (n *jsonNode) member(key string) *jsonNode {
	for i, k := range n.keys {
		if k == key {
			return n.elems[i]
		}
	}
	return nil
}

// position renders a byte offset as "offset 120, line 7, column 14".
func position(data []byte, off int64) string {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return "offset " + strconv.FormatInt(off, 10) + ", line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col)
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// keyPath appends an object member to a path: "a.b", or `a["odd key"]` for
// names that are not plain identifiers.
func keyPath(parent, key string) string {
	if !isIdent(key, 64) {
		return parent + "[" + quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// mapPath appends a map entry to a path, always quoted: `forward.claims["X-Email"]`.
func mapPath(parent, key string) string { return parent + "[" + quote(key) + "]" }

func indexPath(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

// quote quotes s for an error message, shortened to 64 bytes.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

func isSecretPath(path string) bool {
	return len(path) >= 6 && path[len(path)-6:] == "secret"
}
