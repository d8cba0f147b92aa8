package oidc

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// deepBody is a JSON object of about n bytes whose arrays nest n/2 deep:
// {"a":[[[[...]]]]}.
func deepBody(n int) []byte {
	depth := (n - 8) / 2
	return []byte(`{"a":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`)
}

// nestedBody nests objects depth deep: {"a":{"a":...{}...}}.
func nestedBody(depth int) []byte {
	return []byte(strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1))
}

// stackGrowth runs fn on a fresh goroutine and returns how much the stacks in use grew
// while it ran: a recursive parser grows its goroutine's stack with the nesting depth.
func stackGrowth(fn func()) uint64 {
	done := make(chan uint64)
	go func() {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		if after.StackInuse < before.StackInuse {
			done <- 0
			return
		}
		done <- after.StackInuse - before.StackInuse
	}()
	return <-done
}

// TestJSONDepthBounded: a provider body nested 500,000 deep (1 MB) is refused without
// recursing: the stack stays small (gjson.ValidBytes grew it to tens of MiB natively, and
// wasm memory never shrinks), and the answer is ErrNotJSON.
func TestJSONDepthBounded(t *testing.T) {
	for _, tt := range []struct {
		name string
		body []byte
	}{
		{"arrays 500k deep", deepBody(1 << 20)},
		{"objects 200k deep", nestedBody(200_000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			grew := stackGrowth(func() { _, err = jsonObject(tt.body) })
			if !errors.Is(err, ErrNotJSON) {
				t.Errorf("err = %v, want ErrNotJSON", err)
			}
			if grew > 1<<20 {
				t.Errorf("validating the body grew the stack by %d KiB, want under 1 MiB", grew>>10)
			}
		})
	}
}

// TestJSONDepthLimit: the depth limit is the one jwt applies, and every provider body
// parser enforces it.
func TestJSONDepthLimit(t *testing.T) {
	if _, err := jsonObject(nestedBody(32)); err != nil {
		t.Fatalf("32 deep: %v", err)
	}
	deep := nestedBody(33)
	if _, err := jsonObject(deep); !errors.Is(err, ErrNotJSON) {
		t.Fatalf("33 deep: err = %v, want ErrNotJSON", err)
	}
	// The same body, with the members each parser needs first.
	withSub := []byte(`{"sub":"u1","x":` + string(deep) + `}`)
	token := []byte(`{"access_token":"a","token_type":"Bearer","x":` + string(deep) + `}`)
	disc := []byte(`{"issuer":"https://op.example","x":` + string(deep) + `}`)
	if _, err := ParseUserinfoResponse(200, jsonCT, withSub, 0, "u1"); !errors.Is(err, ErrNotJSON) {
		t.Errorf("userinfo: err = %v, want ErrNotJSON", err)
	}
	if _, err := ParseTokenResponse(200, jsonCT, token, 0); !errors.Is(err, ErrNotJSON) {
		t.Errorf("token response: err = %v, want ErrNotJSON", err)
	}
	if _, err := ParseExchangeResponse(200, jsonCT, token, 0); !errors.Is(err, ErrNotJSON) {
		t.Errorf("exchange response: err = %v, want ErrNotJSON", err)
	}
	if _, err := ParseDiscovery(disc, "https://op.example", false); !errors.Is(err, ErrNotJSON) {
		t.Errorf("discovery: err = %v, want ErrNotJSON", err)
	}
}
