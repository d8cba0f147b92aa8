package config

func (v *validator) passThrough() {
	for i, r := range v.r.PassThrough {
		p := indexPath("pass_through", i)
		if (r.Path == "") == (r.Prefix == "") {
			v.add(p, "set exactly one of path and prefix")
			continue
		}
		pt := PassThrough{Path: r.Path, Prefix: r.Prefix, Methods: v.methods(p+".methods", r.Methods)}
		if r.Path != "" {
			if msg := checkPath(r.Path); msg != "" {
				v.add(p+".path", "%s", msg)
				continue
			}
		} else if msg := checkPath(r.Prefix); msg != "" {
			v.add(p+".prefix", "%s", msg)
			continue
		}
		v.c.PassThrough = append(v.c.PassThrough, pt)
	}
}

func (v *validator) api() {
	v.c.API.Detect = v.r.API.Detect
	var u uniq
	for i, pre := range v.r.API.Prefixes {
		p := indexPath("api.prefixes", i)
		if msg := checkPath(pre); msg != "" {
			v.add(p, "%s", msg)
		} else if u.check(v, p, pre, "prefix") {
			v.c.API.Prefixes = append(v.c.API.Prefixes, pre)
		}
	}
}

func (v *validator) endpointSwitches() {
	r := v.r.Endpoints
	v.c.Endpoints = Endpoints(r)
	if r.TokenIncludeRefreshToken && !r.Token {
		v.add("endpoints.token_include_refresh_token", "requires endpoints.token")
	}
	if r.TokenRefreshOfflineOnly && !r.TokenIncludeRefreshToken {
		v.add("endpoints.token_refresh_token_offline_only", "requires endpoints.token_include_refresh_token")
	}
}
