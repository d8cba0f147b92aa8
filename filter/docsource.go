package filter

import (
	"fmt"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 60 * time.Second
)

// fetchEnv is what the fetches of one key source share: whom they are for (in errors and
// logs), their limits and metrics, and one backoff, so that a failed discovery also holds
// back the JWKS fetch and any success clears it.
type fetchEnv struct {
	server    string // "provider" or "issuer": who answered, in errors
	logPrefix string // starts the message of every log line: "" or "bearer issuer NAME: "
	refresh   time.Duration
	leaseTTL  time.Duration // outlasts a callout's timeout: past it the holder is presumed dead
	count     func(kind string, err error, r *calloutResponse)

	nextTry time.Time
	backoff time.Duration
	lastErr error // of the last fetch, nil after a success
}

// docSource is one JSON document (a discovery document or a JWKS) that the VMs of one Envoy
// fetch once between them: by callout from the root context, under a lease in shared data,
// and published there with the time it was fetched.
type docSource struct {
	env      *fetchEnv
	kind     string // "discovery" or "jwks": the metric and the log name
	key      string // in shared data (sharedDiscovery, sharedJWKS)
	leaseKey string // its fetch lease (sharedFetchLease)
	target   target
	maxBytes int
	parse    func(body []byte) error // adopts a document; an error keeps the one in use

	at   time.Time // when the document in use was fetched; zero before the first
	busy bool      // a fetch is under way
}

func (d *docSource) lease() string { return d.leaseKey }

// take adopts a document fetched at at. On success the backoff is forgotten: the server
// answers again.
func (d *docSource) take(body []byte, at time.Time) error {
	if err := d.parse(body); err != nil {
		return err
	}
	d.at = at
	d.env.lastErr, d.env.backoff, d.env.nextTry = nil, 0, time.Time{}
	return nil
}

// adoptShared takes the document another VM published when it is newer than ours and, if
// fresh is set, younger than the refresh interval. It sends no callout.
func (d *docSource) adoptShared(now time.Time, fresh bool) bool {
	at, body, ok := readStamped(d.key)
	if !ok || !at.After(d.at) || fresh && now.Sub(at) >= d.env.refresh {
		return false
	}
	return d.take(body, at) == nil
}

// fetch gets the document at url and publishes it. Unless forced, it does nothing during the
// backoff or while another VM holds the lease; a forced fetch (rate limited by the caller)
// ignores both. Nothing happens while a fetch is under way or without a url; otherwise done
// runs once the callout is over, with its error.
func (d *docSource) fetch(now time.Time, url string, forced bool, done func(now time.Time, err error)) {
	if d.busy || url == "" {
		return
	}
	if !forced && (now.Before(d.env.nextTry) || !takeLease(d.lease(), now, d.env.leaseTTL)) {
		return
	}
	d.busy = true
	req := oidc.Request{Method: "GET", URL: url, Headers: [][2]string{{"accept", "application/json"}}}
	dispatch(d.target, req, d.maxBytes, time.Now, func(r *calloutResponse, err error) {
		d.busy = false
		now := time.Now()
		if err == nil && r.status != 200 {
			err = fmt.Errorf("filter: %s: %s answered HTTP %d", d.kind, d.env.server, r.status)
		}
		if err == nil {
			err = d.take(r.body, now)
		}
		d.env.count(d.kind, err, r)
		if err != nil {
			d.failed(now, err)
		} else {
			writeStamped(d.key, now, r.body)
			if !forced {
				releaseLease(d.lease(), time.Time{}, 0, "")
			}
		}
		done(now, err)
	})
}

// failed records a failed fetch and backs off: the next attempt, by any VM, is after the
// backoff, which doubles with each failure up to maxBackoff.
func (d *docSource) failed(now time.Time, err error) {
	e := d.env
	e.lastErr = err
	_, shared := readLease(d.lease())
	b := max(e.backoff, shared)
	if b == 0 {
		b = minBackoff
	} else if b *= 2; b > maxBackoff {
		b = maxBackoff
	}
	e.backoff = b
	e.nextTry = now.Add(b)
	releaseLease(d.lease(), e.nextTry, b, err.Error())
	logAt(levelWarn, e.logPrefix+d.kind+" fetch failed", "retry_in", b, "err", err)
}
