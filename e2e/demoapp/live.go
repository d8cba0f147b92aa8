package demoapp

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// The live panel: the page opens a WebSocket to {prefix}ws and keeps it open, as a Shiny or
// Streamlit app does. The app's server holds the access token its upgrade request carried;
// the page (through the plugin's {prefix}/tokens.js) pushes each fresh token down the same
// socket, and the server holds the new one when it verifies against the provider's keys and
// names the same user. Every second the server tells the page what it holds, so a person (or
// a test) sees the token the server would use right now and its remaining lifetime.

// LiveStatus is what the server sends down the socket every second.
type LiveStatus struct {
	Socket   int64      `json:"socket"`    // this socket's number since the app started
	OpenedAt time.Time  `json:"opened_at"` // when the upgrade was accepted
	Subject  string     `json:"sub"`       // the user of the upgrade request
	Held     *TokenInfo `json:"held"`      // the access token the server holds now
	Source   string     `json:"source"`    // "upgrade" or "page" (pushed by the page)
	Renewals int        `json:"renewals"`  // tokens taken from the page
	Rejected string     `json:"rejected,omitempty"`
	Ended    string     `json:"ended,omitempty"` // the page said the session ended (its error)
}

// liveMessage is what the page sends: the token endpoint's answer, or its error.
type liveMessage struct {
	AccessToken string `json:"access_token"`
	Error       string `json:"error"`
}

var sockets atomic.Int64

func (a *app) serveLive(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil) // same origin only (Origin's host = Host)
	if err != nil {
		return
	}
	defer c.CloseNow()
	who := a.inspect(r)
	st := &LiveStatus{Socket: sockets.Add(1), OpenedAt: a.cfg.Now().UTC(), Subject: who.User.Subject, Source: "upgrade",
		Held: who.Tokens["X-Forwarded-Access-Token"]}
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() { // the page's pushes
		defer cancel()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			var m liveMessage
			if json.Unmarshal(data, &m) != nil {
				continue
			}
			mu.Lock()
			a.take(ctx, st, m)
			mu.Unlock()
		}
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		mu.Lock()
		a.refreshHeld(st)
		b, _ := json.Marshal(st.view())
		mu.Unlock()
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.Write(wctx, websocket.MessageText, b)
		wcancel()
		if err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// take holds a token the page pushed when it verifies now and is the same user's.
func (a *app) take(ctx context.Context, st *LiveStatus, m liveMessage) {
	if m.Error != "" {
		st.Ended = m.Error
		return
	}
	if m.AccessToken == "" || st.Held != nil && m.AccessToken == st.Held.Raw {
		return
	}
	info := inspectToken("X-Forwarded-Access-Token", m.AccessToken, a.keys.once(ctx), a.cfg.Issuer, a.cfg.Now())
	sub, _ := info.Claims["sub"].(string)
	switch {
	case !info.Verified:
		st.Rejected = "does not verify: " + info.Error
	case sub != st.Subject:
		st.Rejected = "another user's token"
	default:
		st.Held, st.Source, st.Rejected = info, "page", ""
		st.Renewals++
	}
}

// refreshHeld brings the held token's remaining lifetime up to date.
func (a *app) refreshHeld(st *LiveStatus) {
	if h := st.Held; h != nil && h.ExpiresAt != nil {
		h.ExpiresIn = int64(h.ExpiresAt.Sub(a.cfg.Now()) / time.Second)
		h.Expired = h.ExpiresIn <= 0
		if h.Expired {
			h.Verified = false
		}
	}
}

// view is the status as sent: the held token described, not the token itself.
func (st *LiveStatus) view() LiveStatus {
	v := *st
	if st.Held != nil {
		h := *st.Held
		h.Raw = ""
		v.Held = &h
	}
	return v
}
