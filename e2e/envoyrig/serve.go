package envoyrig

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Probes say how to tell that a freshly started plugin serves: a navigation to Page is
// answered 302 to a URL starting with Authorize (the provider's metadata is loaded), then a
// request to API with "Authorization: Bearer Token" is answered 200 (the bearer issuer's
// keys are loaded; the plugin fetches them from its second tick on, not the first).
type Probes struct {
	Page, Authorize string
	API, Token      string
}

// Serving is what WaitServing saw, its times measured from the t0 it was given.
type Serving struct {
	Page   time.Duration // the first navigation answered 302 to the provider
	Bearer time.Duration // the first bearer request answered 200
	// CPU is the Envoy process's CPU time when Page was answered (ProcessCPU; 0 when it
	// cannot be read).
	CPU time.Duration
	// NotReady counts the navigations answered 503 (provider metadata or keys not loaded
	// yet) before the first 302, BearerNotReady the bearer requests answered 503 before the
	// first 200; Other lists any other answer seen.
	NotReady, BearerNotReady int
	Other                    []string
}

// maxOther is how many unexpected answers WaitServing tolerates before it gives up.
const maxOther = 20

// WaitServing polls the plugin's Envoy at base (process pid, started at t0) until both
// probes answer as they should, or ctx ends, or more than 20 other answers came.
func WaitServing(ctx context.Context, base string, pid int, t0 time.Time, p Probes) (Serving, error) {
	var s Serving
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, step := range []struct {
		name, path, auth string
		want             int
		loc              string
		at               *time.Duration
		notReady         *int
	}{
		{"navigation", p.Page, "", http.StatusFound, p.Authorize, &s.Page, &s.NotReady},
		{"bearer", p.API, "Bearer " + p.Token, http.StatusOK, "", &s.Bearer, &s.BearerNotReady},
	} {
		for {
			var auth []string
			if step.auth != "" {
				auth = []string{"Authorization", step.auth}
			}
			status, loc, err := Navigate(ctx, c, base+step.path, auth...)
			switch {
			case err != nil && ctx.Err() != nil:
				return s, fmt.Errorf("envoyrig: the plugin at %s did not serve %s: %w (%d x 503, then %v)", base, step.path, ctx.Err(), *step.notReady, s.Other)
			case err != nil:
				s.Other = append(s.Other, step.name+": "+err.Error())
			case status == step.want && strings.HasPrefix(loc, step.loc):
				*step.at = time.Since(t0)
			case status == http.StatusServiceUnavailable:
				*step.notReady++
			default:
				s.Other = append(s.Other, fmt.Sprintf("%s: %d %s", step.name, status, loc))
			}
			if *step.at != 0 {
				break
			}
			if len(s.Other) > maxOther {
				return s, fmt.Errorf("envoyrig: unexpected answers from the plugin at %s while it started: %v", base, s.Other)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if step.at == &s.Page {
			s.CPU, _ = ProcessCPU(pid)
		}
	}
	return s, nil
}

// Navigate GETs u as a browser navigation (Accept: text/html, Sec-Fetch-Mode: navigate) with
// further header pairs (name, value, ...), and returns the status and Location.
func Navigate(ctx context.Context, c *http.Client, u string, header ...string) (int, string, error) {
	resp, err := navigate(ctx, c, u, header...)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// navigate is Navigate returning the whole response, its body read and closed.
func navigate(ctx context.Context, c *http.Client, u string, header ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}
