package filter

import (
	"errors"
	"fmt"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// On-behalf-of per route.
//
// A route with an exchange gets, besides the session's own tokens, a token for its
// downstream audience: the session's (fresh) access token, or its ID token, exchanged at the
// provider's token endpoint or the route's own (RFC 8693 token exchange, or Entra's
// on-behalf-of jwt-bearer grant). The result is a single flight per session and route, parked sealed in shared data
// until it expires within the route's margin, and remembered per VM as long: a warm request
// costs one map lookup. A refreshed access token is a new subject, so it is exchanged again.
//
// A refusal (invalid_grant, consent or scope problems) is a 403; anything else the provider
// gets wrong is a 502 (504 on a timeout). The provider's error code is in the log line and
// the page, its description only in the log.

// exchangedToken is an exchange's result.
type exchangedToken struct {
	token string
	exp   time.Time // zero when unknown
}

// exchangeRoute returns the request's route when it exchanges tokens, else nil.
func (h *httpContext) exchangeRoute() *config.Route {
	if r := h.route; r != nil && r.Exchange != nil {
		return r
	}
	return nil
}

// exchange adds the route's exchanged token to the request, exchanging first if needed.
func (h *httpContext) exchange(ls *liveSession, r *config.Route) types.Action {
	return h.exchangeFor(ls, r, func(x *exchangedToken) types.Action {
		h.setRequestHeader(r.Exchange.Header, r.Exchange.HeaderValue(x.token))
		return types.ActionContinue
	})
}

// exchangeFor gets the route's exchanged token for the session (exchanging first if needed)
// and hands it to use; a failure is answered.
func (h *httpContext) exchangeFor(ls *liveSession, r *config.Route, use func(*exchangedToken) types.Action) types.Action {
	p := h.p
	x := r.Exchange
	subject := ls.s.AccessToken
	if x.SubjectTokenType == oidc.TokenTypeIDToken {
		subject = ""
		if p.now().Before(ls.s.IDTokenExpiry) {
			subject = ls.s.IDToken
		}
	}
	if subject == "" {
		return h.respond(failure{status: 403, code: "exchange_denied", msg: "The session has no valid token to exchange for this app.",
			err: fmt.Errorf("filter: exchange for route %q: no subject token", r.Name)})
	}
	key := engine.NewFlightKey("oidc-proxy exchange v1", p.cfg.Provider.Issuer, r.Name, subject)
	return p.broker.flights.join(h.contextID, key, p.broker.exchangeSpec(r, subject, key), func(res *flightResult, fresh bool) types.Action {
		return h.onExchanged(r, res, fresh, use)
	})
}

// onExchanged hands the exchanged token to use, or answers with the exchange's failure.
func (h *httpContext) onExchanged(r *config.Route, res *flightResult, fresh bool, use func(*exchangedToken) types.Action) types.Action {
	m := h.p.broker.m.exchange
	switch res.status {
	case engine.FlightOK:
		if !fresh {
			count(m, "cache_hit")
		}
		return use(res.value.(*exchangedToken))
	case engine.FlightDenied, engine.FlightEnded:
		return h.respond(failure{status: 403, code: "exchange_denied", err: exchangeError(r, res),
			msg: "The identity provider refused a token for this app (" + res.code + ")."})
	}
	f := failure{status: 502, code: "exchange_failed", err: exchangeError(r, res),
		msg: "The identity provider could not issue a token for this app. Try again in a moment."}
	if errors.Is(res.err, errTimeout) {
		f.status = 504
	}
	return h.respond(f)
}

func exchangeError(r *config.Route, res *flightResult) error {
	return fmt.Errorf("filter: exchange for route %q: %s", r.Name, flightReason(res))
}

// exchangeSpec is the flight that exchanges subject for route r.
func (b *broker) exchangeSpec(r *config.Route, subject string, key engine.FlightKey) *flightSpec {
	return &flightSpec{
		kind:  "exchange",
		store: b.exchangeStore,
		lease: b.lease,
		run: func(finish func(*flightResult, []byte, time.Duration)) {
			b.runExchange(r, subject, key, finish)
		},
		decode:   b.openParkedExchange,
		counters: b.m.exchange,
	}
}

// runExchange calls the route's token endpoint, else the provider's (through the route's
// cluster, if it has one).
func (b *broker) runExchange(r *config.Route, subject string, key engine.FlightKey, finish func(*flightResult, []byte, time.Duration)) {
	p := b.p
	x := r.Exchange
	endpoint := x.TokenEndpoint
	if endpoint == "" {
		if md := p.provider.md; md != nil {
			endpoint = md.TokenEndpoint
		}
	}
	if endpoint == "" {
		b.exchangeDone(r, &flightResult{status: engine.FlightTransient, err: errString("provider metadata not loaded")}, nil, 0, finish)
		return
	}
	build := func() (oidc.Request, error) {
		if x.Type == config.EntraOBO {
			return oidc.EntraOBO(endpoint, p.client, subject, x.Scope), nil
		}
		return oidc.TokenExchange(endpoint, p.client, subject, oidc.Exchange{
			Audience: x.Audience, Resource: x.Resource, Scope: x.Scope,
			SubjectTokenType: x.SubjectTokenType, RequestedTokenType: x.RequestedTokenType,
		}), nil
	}
	// provider.authority names the provider's host; a route's own token endpoint or cluster
	// is reached by the host of the URL it calls.
	t := p.provider.backchannelTarget()
	if x.Cluster != "" && x.Cluster != t.cluster {
		t.cluster, t.authority = x.Cluster, ""
	}
	if x.TokenEndpoint != "" {
		t.authority = ""
	}
	parse := p.parseToken
	if x.Type == config.RFC8693 {
		parse = p.parseExchange
	}
	req, _ := build() // cannot fail; callAS builds again (a new client assertion) for a nonce retry
	p.callAS(t, "exchange", req, build, func(resp *calloutResponse, err error) {
		if err != nil {
			p.metrics.callout("exchange", err, resp)
			b.exchangeDone(r, &flightResult{status: engine.FlightTransient, err: err}, nil, 0, finish)
			return
		}
		tr, err := parse(resp)
		p.metrics.callout("exchange", err, resp)
		if err != nil {
			b.exchangeDone(r, exchangeFailure(err), nil, 0, finish)
			return
		}
		b.adoptExchanged(r, key, tr, finish)
	})
}

// exchangeFailure classifies a failed exchange.
func exchangeFailure(err error) *flightResult {
	status, code := engine.ClassifyExchange(err)
	return &flightResult{status: status, code: code, err: err}
}

// adoptExchanged parks an exchanged token until it expires within the route's margin.
func (b *broker) adoptExchanged(r *config.Route, key engine.FlightKey, tr *oidc.TokenResponse, finish func(*flightResult, []byte, time.Duration)) {
	p := b.p
	now := p.now()
	exp, err := oidc.AccessTokenExpiry(tr, now, 0) // unknown: parked briefly, not cached
	if err != nil {
		b.exchangeDone(r, &flightResult{status: engine.FlightFailed, code: "token_expired", err: err}, nil, 0, finish)
		return
	}
	xt := &exchangedToken{token: tr.AccessToken, exp: exp}
	keep := minPark
	if !xt.exp.IsZero() {
		keep = max(xt.exp.Sub(now)-r.Exchange.Margin, minPark)
	}
	sealed, err := p.sealer.Seal(state.PurposeSession, p.parkName("exchanged", key), engine.EncodeExchanged(xt.token, xt.exp), now.Add(keep))
	if err != nil {
		b.exchangeDone(r, &flightResult{status: engine.FlightFailed, err: err}, nil, 0, finish)
		return
	}
	b.exchangeDone(r, &flightResult{status: engine.FlightOK, value: xt}, []byte(sealed), keep, finish)
}

// exchangeDone counts and logs an exchange's outcome and finishes its flight.
func (b *broker) exchangeDone(r *config.Route, res *flightResult, payload []byte, keep time.Duration, finish func(*flightResult, []byte, time.Duration)) {
	outcome := map[engine.FlightStatus]string{engine.FlightOK: "ok", engine.FlightDenied: "denied", engine.FlightTransient: "transient"}[res.status]
	if outcome == "" {
		outcome = "failed"
	}
	count(b.m.exchange, outcome)
	if res.status == engine.FlightOK {
		auditInfo("token_exchanged", "route", r.Name, "type", r.Exchange.Type)
	} else {
		auditWarn("token_exchange_failed", "route", r.Name, "type", r.Exchange.Type, "outcome", outcome, "reason", flightReason(res))
	}
	finish(res, payload, keep)
}

// openParkedExchange opens an exchanged token parked in shared data.
func (b *broker) openParkedExchange(k engine.FlightKey, payload []byte, now time.Time) (any, error) {
	plain, err := b.p.sealer.Open(state.PurposeSession, b.p.parkName("exchanged", k), string(payload), now)
	if err != nil {
		return nil, err
	}
	token, exp, ok := engine.DecodeExchanged(plain)
	if !ok {
		return nil, errors.New("filter: parked exchange result too short")
	}
	return &exchangedToken{token: token, exp: exp}, nil
}
