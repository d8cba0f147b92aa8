package filter

import (
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// sockets are this VM's open upgraded streams (WebSockets): the stream's context id and the
// session its upgrade request was let through with. Once upgraded, a stream outlives the
// request that opened it, and the plugin sees it again only when a data frame passes (as a
// body chunk, which costs one call into the VM and nothing else). The tick closes a socket
// whose session has ended: signed out or logged out at the provider (the deny list this Envoy
// shares), or past its lifetime or session.max_age. The app's page then reconnects, and the new
// upgrade finds no session: 401.
//
//	oidc_proxy.websocket.opened          upgrades let through with a session
//	oidc_proxy.websocket.closed_signed_out, closed_session_end
type sockets struct {
	open map[uint32]*liveSession
	m    map[string]proxywasm.MetricCounter
	gen  uint64 // the sign-out generation the open sockets were last checked at
}

var socketOutcomes = []string{"opened", "closed_signed_out", "closed_session_end"}

func newSockets() *sockets {
	return &sockets{m: defineCounters("oidc_proxy.websocket.", socketOutcomes)}
}

// opened records an upgrade let through with ls.
func (ss *sockets) opened(contextID uint32, ls *liveSession) {
	if ss.open == nil {
		ss.open = map[uint32]*liveSession{}
	}
	ss.open[contextID] = ls
	count(ss.m, "opened")
}

// done forgets a stream that ended.
func (ss *sockets) done(contextID uint32) {
	if len(ss.open) > 0 {
		delete(ss.open, contextID)
	}
}

// tick closes the open sockets whose session has ended.
func (p *pluginContext) tickSockets(now time.Time) {
	ss := p.sockets
	if len(ss.open) == 0 {
		return
	}
	gen := p.signedOut.generation()
	checkDeny := gen != ss.gen
	ss.gen = gen
	for id, ls := range ss.open {
		outcome := ""
		switch {
		case !now.Before(ls.expiry):
			outcome = "closed_session_end"
		case checkDeny && p.signedOut.refuses(ls, now):
			outcome = "closed_signed_out"
		default:
			continue
		}
		delete(ss.open, id)
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			continue // the stream is gone already
		}
		if err := closeStream(); err != nil {
			logAt(levelWarn, "closing a websocket failed", "err", err)
			continue
		}
		count(ss.m, outcome)
		auditInfo("websocket_closed", "reason", outcome, "sub", ls.s.Subject)
	}
}
