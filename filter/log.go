package filter

import (
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/logline"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// Logging. Every line the plugin writes goes through logAt: a fixed message, then key=value
// pairs in which every value that is not a plain word is quoted (internal/logline), so no
// request or provider can write a pair of its own into a line. Lines carry no prefix of
// their own: Envoy already starts each with "wasm log", the plugin's name, root id and VM id.
//
// Security events are audit lines, "audit event=NAME ..." (docs/operations.md lists them,
// deploy/docs_test.go checks the list against the calls of audit below).

type level int

const (
	levelTrace level = iota
	levelDebug
	levelInfo
	levelWarn
	levelError
	levelCritical
)

// logThreshold is log_level: lines below it are not written. It is per VM, set when the
// plugin is configured (one plugin configuration per VM).
var logThreshold = levelInfo

var levelNames = map[string]level{
	config.LogTrace: levelTrace, config.LogDebug: levelDebug, config.LogInfo: levelInfo,
	config.LogWarn: levelWarn, config.LogError: levelError, config.LogCritical: levelCritical,
}

func setLogLevel(name string) {
	if l, ok := levelNames[name]; ok {
		logThreshold = l
	}
}

// logAt writes msg (a constant of the caller's) with the pairs kv at level l.
func logAt(l level, msg string, kv ...any) {
	if l < logThreshold {
		return
	}
	line := logline.Format(msg, kv...)
	switch l {
	case levelTrace:
		proxywasm.LogTrace(line)
	case levelDebug:
		proxywasm.LogDebug(line)
	case levelInfo:
		proxywasm.LogInfo(line)
	case levelWarn:
		proxywasm.LogWarn(line)
	case levelError:
		proxywasm.LogError(line)
	default:
		proxywasm.LogCritical(line)
	}
}

// auditInfo and auditWarn write the audit line of a security event.
func auditInfo(event string, kv ...any) { logAt(levelInfo, "audit event="+event, kv...) }
func auditWarn(event string, kv ...any) { logAt(levelWarn, "audit event="+event, kv...) }
