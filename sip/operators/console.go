package operators

import (
	"embed"
	"net/http"
)

// consoleFiles is the operator console, served at /console/: plain HTML,
// CSS and JavaScript, no build step and nothing loaded from elsewhere.
//
//go:embed console
var consoleFiles embed.FS

// consoleHandler adds the console's security headers: only its own
// scripts, styles and API (the Content-Security-Policy forbids inline
// script and every other origin), no framing, no referrer.
func consoleHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
			"connect-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; "+
			"base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}
