package config

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one configuration problem, located by the JSON path of the
// value at fault ("routes[2].exchange.type", `forward.claims["X-Email"]`).
// Parse returns every FieldError it found, joined with errors.Join; use
// FieldErrors to get them back as a slice. Path is empty only for problems
// with the document as a whole (empty input, not valid UTF-8).
//
// Msg never contains a secret: client and key secrets are described, never
// quoted, and URLs are not echoed (they may carry credentials).
type FieldError struct {
	Path string
	Msg  string
}

// Error returns "path: msg", or "config: msg" when Path is empty.
func (e *FieldError) Error() string {
	if e.Path == "" {
		return "config: " + e.Msg
	}
	return e.Path + ": " + e.Msg
}

// FieldErrors returns the *FieldError values in err, in the order Parse
// reported them. It returns nil if err holds none.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		var fe *FieldError
		switch x := e.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, inner := range x.Unwrap() {
				walk(inner)
			}
		default:
			if errors.As(e, &fe) {
				out = append(out, fe)
			}
		}
	}
	walk(err)
	return out
}

// problems collects FieldErrors. Paths where the JSON itself was at fault
// (wrong type, null, syntax) are remembered, so that validation does not add
// a second, confusing problem for a value that was never decoded.
type problems struct {
	list []error
	bad  map[string]bool
}

// decodeFail records a problem with the JSON at path.
func (p *problems) decodeFail(path, format string, args ...any) {
	if p.bad == nil {
		p.bad = make(map[string]bool)
	}
	p.bad[path] = true
	p.list = append(p.list, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// add records a validation problem, unless path or one of its ancestors
// already failed to decode.
func (p *problems) add(path, format string, args ...any) {
	for q := path; q != ""; q = parentPath(q) {
		if p.bad[q] {
			return
		}
	}
	p.list = append(p.list, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error { return errors.Join(p.list...) }

// parentPath returns the path one level up: "a.b[2]" -> "a.b" -> "a" -> "".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		// Index or quoted map key; quoted keys may themselves hold '['.
		if i := strings.LastIndex(p, `["`); i >= 0 && strings.HasSuffix(p, `"]`) {
			return p[:i]
		}
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}
