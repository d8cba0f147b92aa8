// Package deploy holds no code: it is the home of the deployment files' tests.
//
// The files it checks live beside it and at the top of the repository: envoy.yaml (an Envoy
// v3 bootstrap), deploy/istio/ (an Istio WasmPlugin, ServiceEntry and DestinationRule), and
// the provider examples under docs/examples/. The tests read them with Envoy's and Istio's
// own API definitions, which reject unknown or misspelled fields, run Envoy's validation
// rules, check that the clusters and hosts they name agree with each other, and parse every
// embedded plugin configuration with config.ParseWithEnv, in the environment the proxy gives
// the plugin's VM (vm_config.environment_variables, vmConfig.env). Envoy itself then judges
// envoy.yaml: `envoy --mode validate` (the official 1.40 binary, scripts/ensure-envoy.sh)
// with the compiled plugin.wasm in place of /etc/envoy/plugin.wasm; in validate mode Envoy
// loads the Wasm VM and runs the plugin's configuration, so a configuration the plugin refuses
// fails too (envoy_validate_test.go, with mutations that prove it can fail). The docs hold no
// other Envoy bootstrap. They also keep the
// documentation honest: configuration paths, metric names and log events named in docs/ and
// README.md must exist.
package deploy
