// Package replicas runs plugin.wasm as a deployment runs it: several Envoy replicas with the
// same configuration and keys, a real Envoy in front of them as the balancer, and a real etcd
// as the store they share (the plugin's optional "store" section). Its scenarios (the replica
// suite, scripts/replicas-suite.sh, gated by REPLICAS_SUITE=1) check what a user of many
// replicas meets: one refresh per session at the provider whatever replica a request lands
// on, sign-out and back-channel logout seen by every replica within a second, the login state
// used once across replicas, and a store that fails without signing anybody out.
//
// The package exports the parts other suites reuse (e2e/keycloak): [StartEtcd] and
// [StartFront].
package replicas
