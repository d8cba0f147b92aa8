package filter

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// Many replicas as one: the distributed store (config store, etcd v3 through its JSON
// gateway, reached by callouts to an Envoy cluster).
//
// Shared data coordinates the VMs of one Envoy. The store extends three things of it to every
// Envoy that names the same store and prefix:
//
//   - Single flight of refreshes (flight.go run): the VM that leads a refresh in its Envoy
//     first claims the flight's key in the store with a transaction (create if absent). The
//     winner refreshes and puts the result there, sealed exactly as it parks it in shared data;
//     a replica that finds another's lease polls the key (from the tick, every
//     storeFlightPoll) until the result is there, or takes the flight over once that lease has
//     expired (compare on the record's revision, so one replica does).
//   - The sign-out deny list and back-channel logouts (signedout.go): each is also put in the
//     store under d/, and every Envoy reads the entries written since its last read every
//     store.poll_interval (one VM per Envoy, claimInterval) into its own shared-data list.
//   - The login state's single use (callback.go): a transaction creates u/<digest> or finds it.
//
// Keys and values carry no token and no identifier in the clear: flight keys are hashes
// (engine.FlightKey), results are sealed, deny and state entries are SHA-256 digests and an
// expiry. Every key lives under an etcd lease, so the store forgets what expired.
//
// When the store fails (no answer within store.timeout, unreachable, an error answer) the
// operation goes ahead without it: per-Envoy single flight as without a store, a sign-out
// that holds on this Envoy at once and on the others when the refresh token it revoked is
// next used, a login state single use per Envoy. Nobody is signed out because the store is
// down. Each failure counts oidc_proxy.store.error, each operation done without the store
// oidc_proxy.store.fallback, and a warning "store unavailable" is logged (at most every
// storeWarnEvery per VM). After a failure the VM skips the store for storeBackoff for
// sign-out writes and login states, so requests do not each wait for its timeout; refreshes
// and the deny poll keep asking it.

// storeOutcomes are the counters oidc_proxy.store.<outcome>:
//
//	ok              calls the store answered
//	error           calls that failed
//	fallback        operations that went ahead without the store
//	refresh_led     refreshes this Envoy ran for every replica (oidc_proxy.refresh.waited_replica
//	                counts those whose result came from another replica)
//	deny_received   sign-outs and provider logouts read from the store
//	state_replayed  login states refused because another replica used them
var storeOutcomes = []string{"ok", "error", "fallback", "refresh_led", "deny_received", "state_replayed"}

const (
	// storeBackoff is how long a VM skips the store after a failed call.
	storeBackoff = 2 * time.Second
	// storeWarnEvery rate-limits the "store unavailable" warning per VM.
	storeWarnEvery = 10 * time.Second
	// storeFlightPoll is how often a replica reads a flight another replica leads.
	storeFlightPoll = 50 * time.Millisecond
	// storeMaxBody caps a store answer (a deny poll reads at most storePollLimit entries).
	storeMaxBody   = 4 << 20
	storePollLimit = 2000
)

// leaseKind names the etcd leases a VM keeps: each is granted once and reused for keys
// written within its reuse time, so a key lives at least ttl - reuse.
type leaseKind int

const (
	leaseFlights leaseKind = iota // refresh leases and results: at most a minute
	leaseStates                   // used login states: login.state_lifetime
	leaseDeny                     // deny list entries: session.lifetime
	leaseKinds
)

type storeLease struct {
	id      string
	at      time.Time
	waiting []func(id string, err error)
}

// remoteStore is one VM's client of the store.
type remoteStore struct {
	p         *pluginContext
	cfg       config.Store
	t         target
	leases    [leaseKinds]storeLease
	downUntil time.Time
	lastWarn  time.Time
	polling   bool
	nextPoll  time.Time
	outbox    []func() // calls to send from the root context (later)
	revKey    string   // shared data: the store revision this Envoy has read the deny list up to
	pollKey   string   // shared data: claimInterval of the deny poll
	m         map[string]proxywasm.MetricCounter
}

func newRemoteStore(p *pluginContext) *remoteStore {
	cfg := p.cfg.Store
	return &remoteStore{
		p: p, cfg: cfg,
		t:       target{cluster: cfg.Cluster, authority: cfg.Authority, timeout: cfg.Timeout},
		revKey:  sharedStoreRev.key(p.cfg.Provider.Issuer),
		pollKey: sharedStorePoll.key(p.cfg.Provider.Issuer),
		m:       defineCounters("oidc_proxy.store.", storeOutcomes),
	}
}

// up reports whether the store is worth asking now (no failure within storeBackoff).
func (s *remoteStore) up(now time.Time) bool { return !now.Before(s.downUntil) }

// failed records a failed call.
func (s *remoteStore) failed(op string, err error) {
	now := s.p.now()
	count(s.m, "error")
	s.downUntil = now.Add(storeBackoff)
	// A lease may be what failed (etcd restored without it): grant new ones after the backoff.
	for k := range s.leases {
		s.leases[k].id = ""
	}
	if now.Sub(s.lastWarn) >= storeWarnEvery {
		s.lastWarn = now
		logAt(levelWarn, "store unavailable: going ahead without it (per-Envoy single flight and deny list)", "op", op, "err", err)
	}
}

// fallback counts an operation done without the store.
func (s *remoteStore) fallback() { count(s.m, "fallback") }

// call POSTs body to the store's path and hands done the answer's JSON. The answer comes to
// the context call ran in (the SDK drops it if that was a request that has ended since): what
// must outlive a request is sent from the root context (later).
func (s *remoteStore) call(path, body string, done func(gjson.Result, error)) {
	req := oidc.Request{Method: "POST", URL: "http://" + s.cfg.Authority + path,
		Headers: [][2]string{{"content-type", "application/json"}}, Body: []byte(body)}
	dispatch(s.t, req, storeMaxBody, s.p.now, func(r *calloutResponse, err error) {
		if err == nil && r.status != 200 {
			msg := gjson.GetBytes(r.body, "message").String()
			if msg == "" {
				msg = gjson.GetBytes(r.body, "error").String()
			}
			err = errors.New("store: HTTP " + strconv.Itoa(r.status) + ": " + strconv.Quote(truncate(msg, 200)))
			if strings.Contains(msg, "lease not found") {
				err = errors.Join(errLeaseGone, err)
			}
		}
		if err == nil && !gjson.ValidBytes(r.body) {
			err = errors.New("store: the answer is not JSON")
		}
		if err != nil {
			done(gjson.Result{}, err)
			return
		}
		count(s.m, "ok")
		done(gjson.ParseBytes(r.body), nil)
	})
}

// later runs send in the plugin's root context, soon: through the VM's shared queue (the hop
// single flight uses), else on the next tick. A store call sent from a request's context is
// answered only while that request lives; a write the request does not wait for goes this way.
func (s *remoteStore) later(send func()) {
	s.outbox = append(s.outbox, send)
	if q := s.p.broker.flights.queue; q != 0 && len(s.outbox) == 1 {
		if err := proxywasm.EnqueueSharedQueue(q, storeQueueItem); err != nil {
			logAt(levelWarn, "shared queue failed: the store write waits for the tick", "err", err)
		}
	}
}

// storeQueueItem is the shared-queue item that runs the outbox (flight items are 16 bytes).
var storeQueueItem = []byte{'s'}

// drain sends what later queued; it runs in the root context (OnQueueReady, the tick).
func (s *remoteStore) drain() {
	out := s.outbox
	s.outbox = nil
	for _, send := range out {
		send()
	}
}

// lease hands done a lease of kind k: the one granted last if still within its reuse time,
// else a new one.
func (s *remoteStore) lease(k leaseKind, done func(id string, err error)) {
	l := &s.leases[k]
	ttl, reuse := s.leaseTimes(k)
	now := s.p.now()
	if l.id != "" && now.Sub(l.at) < reuse {
		done(l.id, nil)
		return
	}
	l.waiting = append(l.waiting, done)
	if len(l.waiting) > 1 {
		return // a grant is out
	}
	// The grant goes out from the root context: its waiters may be several requests, and an
	// answer sent to the one that caused it would be dropped with that request. Each waiter
	// then runs in the root context (useOnce makes its request current again).
	s.later(func() { s.grant(l, ttl) })
}

// grant asks for a lease of ttl for l and hands it to l's waiters.
func (s *remoteStore) grant(l *storeLease, ttl time.Duration) {
	now := s.p.now()
	s.call("/v3/lease/grant", `{"TTL":"`+strconv.FormatInt(int64(ttl/time.Second), 10)+`"}`, func(r gjson.Result, err error) {
		id := r.Get("ID").String()
		if err == nil && (id == "" || id == "0") {
			err = errors.New("store: lease grant without an ID")
		}
		if err == nil {
			l.id, l.at = id, now
		}
		ws := l.waiting
		l.waiting = nil
		for _, w := range ws {
			w(id, err)
		}
	})
}

// leased sends a call that writes under a lease of kind k and hands done its answer. When the
// store says the lease is gone (etcd restored without it, or its TTL ran out on a clock
// jump), it grants a new lease and sends the call once more.
func (s *remoteStore) leased(k leaseKind, send func(id string, answer func(gjson.Result, error)), done func(gjson.Result, error)) {
	var attempt func(first bool)
	attempt = func(first bool) {
		s.lease(k, func(id string, err error) {
			if err != nil {
				done(gjson.Result{}, err)
				return
			}
			send(id, func(r gjson.Result, err error) {
				if first && errors.Is(err, errLeaseGone) {
					if s.leases[k].id == id {
						s.leases[k].id = ""
					}
					attempt(false)
					return
				}
				done(r, err)
			})
		})
	}
	attempt(true)
}

// put writes value at key under a lease of kind k.
func (s *remoteStore) put(k leaseKind, key, value string, done func(error)) {
	s.leased(k, func(id string, answer func(gjson.Result, error)) {
		s.call("/v3/kv/put", `{"key":"`+b64(key)+`","value":"`+b64(value)+`","lease":"`+id+`"}`, answer)
	}, func(_ gjson.Result, err error) { done(err) })
}

// errLeaseGone is the store refusing a write because its lease does not exist.
var errLeaseGone = errors.New("store: the lease is gone")

func (s *remoteStore) leaseTimes(k leaseKind) (ttl, reuse time.Duration) {
	switch k {
	case leaseFlights:
		return 3 * time.Minute, time.Minute
	case leaseStates:
		return s.p.cfg.Login.StateLifetime + 2*time.Minute, time.Minute
	}
	return s.p.cfg.Session.Lifetime + 2*time.Hour, time.Hour
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// kvValue decodes an etcd key-value's value.
func kvValue(kv gjson.Result) []byte {
	v, err := base64.StdEncoding.DecodeString(kv.Get("value").String())
	if err != nil {
		return nil
	}
	return v
}

// createTxn is a transaction that puts value at key (under lease) if compare holds, else
// reads key.
func createTxn(key, compare, value, lease string) string {
	k := b64(key)
	return `{"compare":[` + compare + `],"success":[{"request_put":{"key":"` + k + `","value":"` + b64(value) +
		`","lease":"` + lease + `"}}],"failure":[{"request_range":{"key":"` + k + `"}}]}`
}

// absent is the comparison "key does not exist".
func absent(key string) string {
	return `{"key":"` + b64(key) + `","target":"CREATE","result":"EQUAL","create_revision":"0"}`
}

// unchanged is the comparison "key was last written at revision rev".
func unchanged(key, rev string) string {
	return `{"key":"` + b64(key) + `","target":"MOD","result":"EQUAL","mod_revision":"` + rev + `"}`
}

// --- single flight across replicas

// remoteFlight is what a VM leading a flight in its Envoy knows of the flight in the store.
type remoteFlight struct {
	key    string
	finish func(*flightResult, []byte, time.Duration)
	rev    string    // the mod_revision of the other replica's lease last read
	next   time.Time // when to read the record again
	out    bool      // a read is out
	tries  int       // claims tried (a record that vanishes between compare and read)
}

func (s *remoteStore) flightKey(k engine.FlightKey) string { return s.cfg.Key("f/", k.String()) }

// runFlight runs f, which this VM leads in its Envoy, for every replica: it claims the flight
// in the store and runs it, or takes the result another replica parked there, or waits for it.
//
// A refresh asks the store even within storeBackoff of a failure: refreshes are rare (one
// per session per access token lifetime), and one refreshed alone while the store answers
// again can be a second refresh with a spent token at a provider that detects reuse. What a
// store that does not answer costs is store.timeout, once per refresh.
func (s *remoteStore) runFlight(fl *flights, f *flight, finish func(*flightResult, []byte, time.Duration)) {
	f.remote = &remoteFlight{key: s.flightKey(f.key), finish: finish}
	s.claimFlight(fl, f, absent(f.remote.key))
}

// claimFlight writes this VM's lease on f's record if compare holds; otherwise it acts on
// the record as it is.
func (s *remoteStore) claimFlight(fl *flights, f *flight, compare string) {
	rf := f.remote
	rf.tries++
	s.leased(leaseFlights, func(id string, answer func(gjson.Result, error)) {
		lease := engine.EncodeSlot([]*engine.SlotEntry{{Key: f.key, State: engine.EntryLease, Exp: s.p.now().Add(f.spec.lease)}})
		s.call("/v3/kv/txn", createTxn(rf.key, compare, string(lease), id), answer)
	}, func(r gjson.Result, err error) {
		if !fl.current(f) {
			return
		}
		if err != nil {
			s.goAlone(f, "claim", err)
			return
		}
		if r.Get("succeeded").Bool() {
			count(s.m, "refresh_led")
			f.remote = nil
			f.spec.run(s.publish(f, rf))
			return
		}
		s.onRecord(fl, f, r.Get("responses.0.response_range.kvs.0"))
	})
}

// goAlone runs f without waiting for the store, after a failed call. The result is still
// put in the store, if it answers by then: a claim that timed out here may have been written
// there, and the other replicas then wait for this replica's result.
func (s *remoteStore) goAlone(f *flight, op string, err error) {
	s.failed(op, err)
	s.fallback()
	rf := f.remote
	f.remote = nil
	f.spec.run(s.publish(f, rf))
}

// onRecord acts on f's record as read from the store: a result is taken, another replica's
// live lease is waited for (the tick reads it again), an expired one is taken over.
func (s *remoteStore) onRecord(fl *flights, f *flight, kv gjson.Result) {
	rf := f.remote
	now := s.p.now()
	if !kv.Exists() {
		// Gone between the comparison and the read (its lease expired): claim it again.
		if rf.tries < 4 {
			s.claimFlight(fl, f, absent(rf.key))
			return
		}
		s.goAlone(f, "claim", errors.New("store: the flight's record keeps vanishing"))
		return
	}
	var e *engine.SlotEntry
	for _, x := range engine.DecodeSlot(kvValue(kv)) {
		if x.Key == f.key {
			e = x
		}
	}
	switch {
	case e == nil:
		s.goAlone(f, "read", errors.New("store: the flight's record does not decode"))
	case e.State == engine.EntryResult && now.Before(e.Exp):
		count(f.spec.counters, "waited_replica")
		f.remote = nil
		rf.finish(fl.decode(f.spec, e, now), e.Payload, e.Exp.Sub(now))
	case now.Before(e.Exp): // another replica's live lease
		rf.rev, rf.next = kv.Get("mod_revision").String(), now.Add(storeFlightPoll)
		fl.setFast(true)
	default: // an expired lease or result: take it over
		// audit events: refresh_takeover
		auditInfo(f.spec.kind+"_takeover", "key", f.key.String()[:8], "reason", "replica_lease_expired")
		s.claimFlight(fl, f, unchanged(rf.key, kv.Get("mod_revision").String()))
	}
}

// pollFlight reads f's record again (from the tick) while another replica leads it.
func (s *remoteStore) pollFlight(fl *flights, f *flight, now time.Time) {
	rf := f.remote
	if rf.out || now.Before(rf.next) || rf.rev == "" {
		return
	}
	rf.out = true
	s.call("/v3/kv/range", `{"key":"`+b64(rf.key)+`"}`, func(r gjson.Result, err error) {
		rf.out = false
		if !fl.current(f) || f.remote != rf {
			return
		}
		if err != nil {
			s.goAlone(f, "read", err)
			return
		}
		s.onRecord(fl, f, r.Get("kvs.0"))
	})
}

// publish wraps the finish of a flight this replica won: the result is parked here as
// without a store, and put in the store for the other replicas.
func (s *remoteStore) publish(f *flight, rf *remoteFlight) func(*flightResult, []byte, time.Duration) {
	return func(res *flightResult, payload []byte, keep time.Duration) {
		rf.finish(res, payload, keep)
		now := s.p.now()
		keep = max(keep, minPark)
		if res.status != engine.FlightOK {
			payload = nil
		}
		v := engine.EncodeSlot([]*engine.SlotEntry{{Key: f.key, State: engine.EntryResult, Status: res.status, Exp: now.Add(keep), Code: res.code, Payload: payload}})
		s.put(leaseFlights, rf.key, string(v), func(err error) {
			if err != nil {
				// The others take the flight over when this replica's lease expires.
				s.failed("publish", err)
			}
		})
	}
}

// --- the deny list

// Kinds of deny entries: a signed-out session, a provider logout (by sid or sub).
const (
	denySignOut        = "s"
	denyProviderLogout = "p"
)

// denyDigest is the part of SHA-256 a deny entry's key carries: engine.DigestSet's digest and
// the byte its slot comes from.
func denyDigest(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:engine.DigestLen+1])
}

// deny puts a deny list entry for every replica: value (digested) refused until until. It is
// sent from the root context: the request that signs out does not wait for it.
func (s *remoteStore) deny(kind, value string, until time.Time) {
	if !s.up(s.p.now()) {
		s.fallback()
		return
	}
	key := s.cfg.Key("d/", kind, "/", denyDigest(value))
	val := strconv.FormatInt(until.UnixNano(), 10)
	s.later(func() {
		s.put(leaseDeny, key, val, func(err error) {
			if err != nil {
				s.failed("deny", err)
				s.fallback()
			}
		})
	})
}

// tick reads, in one VM per Envoy every poll_interval, the deny entries written since the
// last read, into this Envoy's deny list.
func (s *remoteStore) tick(now time.Time) {
	s.drain()
	if s.polling || now.Before(s.nextPoll) {
		return
	}
	s.nextPoll = now.Add(s.cfg.PollInterval / 2)
	if !claimInterval(s.pollKey, now, s.cfg.PollInterval*9/10) {
		return
	}
	s.nextPoll = now.Add(s.cfg.PollInterval)
	from := s.readRev()
	lo, hi := s.cfg.Key("d/"), s.cfg.Key("d0")
	s.polling = true
	s.call("/v3/kv/range", `{"key":"`+b64(lo)+`","range_end":"`+b64(hi)+`","min_mod_revision":"`+strconv.FormatInt(from, 10)+
		`","sort_order":"ASCEND","sort_target":"MOD","limit":"`+strconv.Itoa(storePollLimit)+`"}`, func(r gjson.Result, err error) {
		s.polling = false
		if err != nil {
			s.failed("poll", err)
			return
		}
		next := r.Get("header.revision").Int() + 1
		if next < from {
			// The store's history is younger than what this Envoy read: etcd was replaced or
			// restored. Read everything again.
			s.resetRev()
			return
		}
		kvs := r.Get("kvs").Array()
		if r.Get("more").Bool() && len(kvs) > 0 {
			next = max(kvs[len(kvs)-1].Get("mod_revision").Int(), from+1)
		}
		s.apply(kvs, s.p.now())
		s.writeRev(next)
	})
}

// apply writes deny entries read from the store into this Envoy's list.
func (s *remoteStore) apply(kvs []gjson.Result, now time.Time) {
	var which [2]bool
	for _, kv := range kvs {
		k, _ := base64.StdEncoding.DecodeString(kv.Get("key").String())
		rest, ok := strings.CutPrefix(string(k), s.cfg.Key("d/"))
		kind, digest, ok2 := strings.Cut(rest, "/")
		sum, err := hex.DecodeString(digest)
		ns, err2 := strconv.ParseInt(string(kvValue(kv)), 10, 64)
		if !ok || !ok2 || err != nil || err2 != nil || len(sum) != engine.DigestLen+1 {
			continue // not ours
		}
		until := time.Unix(0, ns)
		if !until.After(now) {
			continue
		}
		var err3 error
		switch kind {
		case denySignOut:
			err3 = s.p.signedOut.putDigest(sum, until, now)
			which[0] = true
		case denyProviderLogout:
			err3 = s.p.signedOut.putDigest(sum, until, now)
			which[1] = true
		default:
			continue
		}
		if err3 != nil {
			logAt(levelWarn, "recording another replica's sign-out failed", "err", err3)
			continue
		}
		count(s.m, "deny_received")
	}
	for i, w := range which {
		if w {
			if err := s.p.signedOut.bump(i); err != nil {
				logAt(levelWarn, "recording another replica's sign-out failed", "err", err)
			}
		}
	}
}

func (s *remoteStore) readRev() int64 {
	v, _, err := getSharedData(s.revKey)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(string(v), 10, 64)
	return n
}

// resetRev makes the next poll read every deny entry.
func (s *remoteStore) resetRev() {
	if err := setShared(s.revKey, []byte("0")); err != nil {
		logAt(levelWarn, "shared data write failed", "key", s.revKey, "err", err)
	}
}

// writeRev moves the revision read up to forward (never back: two polls may overlap).
func (s *remoteStore) writeRev(rev int64) {
	err := updateShared(s.revKey, func(v []byte) ([]byte, error) {
		if n, _ := strconv.ParseInt(string(v), 10, 64); n >= rev {
			return nil, nil
		}
		return []byte(strconv.FormatInt(rev, 10)), nil
	})
	if err != nil {
		logAt(levelWarn, "shared data write failed", "key", s.revKey, "err", err)
	}
}

// --- login state single use

// useOnce makes value (a login state) used once across replicas: then continues if it was
// not used before (or the store failed: the per-Envoy guard already passed), and replayed
// answers the request if it was. It returns then's Action, or Pause while the store is asked.
func (s *remoteStore) useOnce(h *httpContext, value string, then, replayed func() types.Action) types.Action {
	if !s.up(s.p.now()) {
		s.fallback()
		return then()
	}
	key := s.cfg.Key("u/", denyDigest(value))
	ctxID := h.contextID
	resume := func(act func() types.Action) {
		if proxywasm.SetEffectiveContext(ctxID) != nil {
			return // the request went away
		}
		if act() == types.ActionContinue {
			_ = proxywasm.ResumeHttpRequest()
		}
	}
	s.leased(leaseStates, func(id string, answer func(gjson.Result, error)) {
		s.call("/v3/kv/txn", createTxn(key, absent(key), "1", id), answer)
	}, func(r gjson.Result, err error) {
		switch {
		case err != nil:
			s.failed("state", err)
			s.fallback()
			resume(then)
		case r.Get("succeeded").Bool():
			resume(then)
		default:
			count(s.m, "state_replayed")
			resume(replayed)
		}
	})
	return types.ActionPause
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
