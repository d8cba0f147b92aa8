package filter

import (
	"crypto/rand"
	"errors"
	"io"
	"os"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// tickPeriod drives provider metadata fetches and retries. It is short so that a fresh VM is
// ready quickly; the provider code itself decides when a fetch is due.
const tickPeriod = 500 * time.Millisecond

// normalTick is this plugin's tick period while no request waits for a flight: tickPeriod, or
// store.poll_interval when that is shorter (the deny list is read from the store on the tick).
func (p *pluginContext) normalTick() time.Duration {
	if p.store != nil && p.cfg.Store.PollInterval < tickPeriod {
		return p.cfg.Store.PollInterval
	}
	return tickPeriod
}

// firstTickPeriod is the period until the first tick, which sends the first fetch. The first
// fetch is not sent from OnPluginStart: Envoy starts a throwaway VM on its main thread to
// check the configuration and destroys it at once, cancelling its callouts; a fetch sent
// there took the shared fetch lease with it, and every VM waited for the lease to expire
// (provider.timeout + 2 s) before the plugin could serve. A VM that lives gets its first
// tick right away (the provider's fetch), and its second as soon (the bearer issuers').
const firstTickPeriod = 10 * time.Millisecond

// pluginContext holds everything a VM needs to serve requests for one plugin configuration.
// All of it is built once in OnPluginStart; only the provider state and the caches change.
type pluginContext struct {
	types.DefaultPluginContext
	contextID uint32

	cfg       *config.Config
	sockets   *sockets // open WebSockets and their sessions (sockets.go)
	tokenJS   []byte   // {prefix}/tokens.js, built on first use (tokenscript.go)
	sealer    *state.Sealer
	sessions  state.CookieCodec
	client    oidc.Client
	provider  *provider
	cache     *sessionCache
	replay    *replayGuard
	signedOut *signedOutList // sessions signed out on this Envoy (signedout.go)
	// logoutJTIs: back-channel logout tokens used on this Envoy (backchannel.go)
	logoutJTIs *replayGuard
	bearer     *bearerState
	broker     *broker
	// store: the distributed store shared with the other replicas (store.go), nil without one
	store    *remoteStore
	metrics  *metrics
	dpopKey  *jwt.SigningKey // DPoP proof key (dpop.go), nil without dpop.enabled
	dpopM    map[string]proxywasm.MetricCounter
	identity map[string]bool
	held     heldHeaders // requests whose headers wait for their body (holdbody.go)

	now   func() time.Time
	rand  io.Reader
	ticks int // how many of the first two ticks (firstTickPeriod apart) have run
	// env looks up the VM's environment variables (the secrets named by client.secret_env
	// and keys[].secret_env). In wasm it is WASI environ: Envoy fills it from
	// vm_config.environment_variables, and nothing else is in it.
	env func(string) (string, bool)
}

func newPluginContext(contextID uint32) *pluginContext {
	return &pluginContext{contextID: contextID, now: time.Now, rand: rand.Reader, env: os.LookupEnv}
}

// OnPluginStart parses and validates the whole configuration. Every problem is logged, each
// naming its JSON path, and the plugin refuses to start: no config error is ever found later.
func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		logAt(levelCritical, "cannot read the plugin configuration", "err", err)
		return types.OnPluginStartStatusFailed
	}
	if err := p.configure(data); err != nil {
		logConfigErrors(err)
		return types.OnPluginStartStatusFailed
	}
	if err := proxywasm.SetTickPeriodMilliSeconds(uint32(firstTickPeriod / time.Millisecond)); err != nil {
		logAt(levelCritical, "cannot set the tick period", "err", err)
		return types.OnPluginStartStatusFailed
	}
	logAt(levelInfo, "started", "issuer", p.cfg.Provider.Issuer, "client", p.cfg.Client.ID)
	return types.OnPluginStartStatusOK
}

// configure builds the plugin's state from configuration bytes. It is separate from
// OnPluginStart so tests can call it directly.
func (p *pluginContext) configure(data []byte) error {
	cfg, err := config.ParseWithEnv(data, p.env)
	if err != nil {
		return err
	}
	keys := make([]state.Key, len(cfg.Keys))
	for i, k := range cfg.Keys {
		keys[i] = state.Key{ID: k.ID, Secret: k.Secret}
	}
	sealer, err := state.NewSealer(keys, p.rand)
	if err != nil {
		return err
	}
	if err := p.setupDPoP(cfg); err != nil {
		return err
	}
	p.cfg = cfg
	setLogLevel(cfg.LogLevel)
	p.sealer = sealer
	p.sessions = state.CookieCodec{Name: cfg.Cookie.Name, MaxCookieSize: cfg.Cookie.MaxChunkSize, MaxChunks: cfg.Cookie.MaxChunks}
	p.client = oidc.Client{ID: cfg.Client.ID, Secret: cfg.Client.Secret, AuthMethod: cfg.Client.AuthMethod,
		Audience: cfg.Provider.Issuer, Now: p.now, Rand: p.rand}
	if cfg.Client.AssertionAudience == config.AudienceEndpoint {
		p.client.Audience = "" // each assertion names the endpoint it goes to
	}
	switch cfg.Client.AuthMethod {
	case config.PrivateKeyJWT:
		p.client.Signer = cfg.Client.SigningKey
	case config.ClientSecretJWT:
		if p.client.Signer, err = jwt.NewHMACSigningKey(jwt.HS256, []byte(cfg.Client.Secret)); err != nil {
			return err
		}
	}
	p.metrics = newMetrics()
	p.provider = newProvider(cfg, p.metrics, p.contextID)
	p.cache = newSessionCache(cfg.Session.CacheSize)
	p.replay = newReplayGuard(cfg.Provider.Issuer)
	p.signedOut = newSignedOutList(cfg.Provider.Issuer)
	p.logoutJTIs = newLogoutJTIs(cfg.Provider.Issuer)
	p.bearer = newBearerState(cfg, p.contextID)
	p.broker = newBroker(p)
	p.sockets = newSockets()
	if cfg.Store.Kind != "" {
		p.store = newRemoteStore(p)
	}
	return nil
}

// logConfigErrors logs each problem of a joined config error on its own line.
func logConfigErrors(err error) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		proxywasm.LogCritical("config: " + e.Error()) // the operator's own file: written as is, to be read
	}
	logAt(levelCritical, "refusing to start: configuration problems", "count", len(errs))
}

func (p *pluginContext) OnTick() {
	now := p.now()
	switch p.ticks {
	case 0: // what OnPluginStart used to do: the provider's start-up fetch; the next tick soon
		p.ticks = 1
		p.provider.tick(now)
		return
	case 1: // the bearer issuers' first fetch; then the normal period
		p.ticks = 2
		p.broker.flights.resetTick()
	}
	p.provider.tick(now)
	p.bearer.issuers.tick(now)
	p.broker.tick(now)
	p.tickHeld(now)
	p.tickSockets(now)
	if p.store != nil {
		p.store.tick(now)
	}
}

func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &httpContext{p: p, contextID: contextID}
}

// OnQueueReady runs flights queued by this VM's requests in the root context.
func (p *pluginContext) OnQueueReady(queueID uint32) {
	if p.broker != nil {
		p.broker.flights.onQueueReady(queueID)
	}
}
