package config

// Variables lists every environment variable Load reads by name (besides
// the client-secret variables institutions name), aliases included, in
// the order of the settings table. Deployment files are checked against it.
func Variables() []string {
	var out []string
	for _, s := range settings {
		out = append(out, s.name)
		out = append(out, s.aliases...)
	}
	return out
}
