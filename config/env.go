package config

import "strings"

// Secrets may come from the plugin's environment instead of the JSON: the
// client's and each key's secret_env names an environment variable of the VM
// (Envoy's vm_config.environment_variables, Istio's vmConfig.env), so the
// secret itself is in neither the proxy configuration nor its config dump.
// Messages name the variable, never its value.

// maxEnvName bounds an environment variable name (Istio's limit).
const maxEnvName = 256

// secret resolves the secret of the object at path, given inline (secret)
// or by the name of an environment variable (secretEnv); exactly one of
// them is set. It returns the value, the path later problems with the value
// belong to, and a prefix that says where the value came from ("" inline,
// "environment variable X: " otherwise). ok is false when a problem was
// recorded and there is no value to check further.
func (v *validator) secret(path, inline, secretEnv, required string) (val, at, from string, ok bool) {
	switch {
	case inline != "" && secretEnv != "":
		v.add(path+".secret_env", "set exactly one of secret and secret_env")
		return "", "", "", false
	case secretEnv == "" && inline == "":
		v.add(path+".secret", "%s; or name an environment variable holding it in secret_env", required)
		return "", "", "", false
	case secretEnv == "":
		return inline, path + ".secret", "", true
	}
	at = path + ".secret_env"
	if !isEnvName(secretEnv) {
		v.add(at, "must be an environment variable name: a C identifier ([A-Za-z_][A-Za-z0-9_]*) of at most %d bytes", maxEnvName)
		return "", "", "", false
	}
	var set bool
	if v.env != nil {
		val, set = v.env(secretEnv)
	}
	switch {
	case !set:
		v.add(at, "environment variable %s is not set in the plugin's VM (Envoy: vm_config.environment_variables; Istio: vmConfig.env)", secretEnv)
		return "", "", "", false
	case val == "":
		v.add(at, "environment variable %s is empty", secretEnv)
		return "", "", "", false
	case hasCtl(val):
		hint := ""
		if strings.HasSuffix(val, "\n") {
			hint = " (a trailing newline?)"
		}
		v.add(at, "environment variable %s contains control characters%s", secretEnv, hint)
		return "", "", "", false
	}
	return val, at, "environment variable " + secretEnv + ": ", true
}

// isEnvName reports whether s is a C identifier of at most maxEnvName bytes,
// the names Kubernetes and Istio accept everywhere.
func isEnvName(s string) bool {
	if s == "" || len(s) > maxEnvName || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}
