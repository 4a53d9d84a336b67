package openapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SwaggerUIVersion is the version of the npm package swagger-ui-dist
// (Apache-2.0) whose assets are embedded; see swaggerui/README.md.
const SwaggerUIVersion = "5.35.0"

// The documentation paths, relative to the service root. Behind a reverse
// proxy that sends X-Script-Name the page references them under that prefix.
const (
	SpecPath     = "/api-spec.json"
	UIPath       = "/"
	AssetsPrefix = "/swagger-ui/"
)

// vendored holds the unmodified swagger-ui-dist files (licences included, so
// they are served next to the code they cover).
//
//go:embed swaggerui/LICENSE swaggerui/NOTICE swaggerui/favicon-16x16.png swaggerui/favicon-32x32.png
//go:embed swaggerui/swagger-ui.css swaggerui/swagger-ui-bundle.js swaggerui/swagger-ui-bundle.js.LICENSE.txt
var vendored embed.FS

// own holds the page template and its start-up script.
//
//go:embed ui/index.html ui/swagger-init.js
var own embed.FS

var page = template.Must(template.ParseFS(own, "ui/index.html"))

// asset is one embedded file ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// assets maps the file name under AssetsPrefix to its content.
var assets = sync.OnceValue(func() map[string]asset {
	m := map[string]asset{}
	add := func(fsys fs.FS, dir string) {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			panic("openapi: embedded assets: " + err.Error())
		}
		for _, e := range entries {
			if e.Name() == "index.html" {
				continue // the page is rendered from the template, not served as a file
			}
			b, err := fs.ReadFile(fsys, dir+"/"+e.Name())
			if err != nil {
				panic("openapi: embedded assets: " + err.Error())
			}
			m[e.Name()] = asset{body: b, contentType: contentType(e.Name()), etag: etag(b)}
		}
	}
	add(vendored, "swaggerui")
	add(own, "ui")
	return m
})

func contentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".png":
		return "image/png"
	default: // LICENSE, NOTICE, *.txt
		return "text/plain; charset=utf-8"
	}
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// Route is one documentation route: register Handler for GET (and HEAD) on
// Path, with public access.
type Route struct {
	Path    string
	Handler http.Handler
}

// Routes lists every documentation route: the document with
// servers = [{"url": backendRoute}], the Swagger UI page and each of its
// assets (one exact path per file, so a router that only knows exact paths
// can register them).
func Routes(backendRoute string) []Route {
	ui := UIHandler()
	routes := []Route{{Path: SpecPath, Handler: SpecHandler(backendRoute)}, {Path: UIPath, Handler: ui}}
	names := make([]string, 0, len(assets()))
	for name := range assets() {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		routes = append(routes, Route{Path: AssetsPrefix + name, Handler: ui})
	}
	return routes
}

// SpecHandler serves Document(backendRoute) as application/json, whatever
// the request path (register it on SpecPath). When backendRoute is left at
// "/" and a reverse proxy sends X-Script-Name, servers[0].url is that
// prefix instead: "/" would send Swagger UI's "Try it out" (and generated
// clients) past the prefix, to whatever the proxy serves at its root.
func SpecHandler(backendRoute string) http.Handler {
	doc := asset{body: Document(backendRoute), contentType: "application/json"}
	doc.etag = etag(doc.body)
	followPrefix := backendRoute == "" || backendRoute == "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		if followPrefix {
			w.Header().Set("Vary", "X-Script-Name")
			if prefix := scriptName(r); prefix != "" {
				b := Document(prefix)
				serve(w, r, asset{body: b, contentType: "application/json", etag: etag(b)})
				return
			}
		}
		serve(w, r, doc)
	})
}

// UIHandler serves the Swagger UI page on UIPath and its assets under
// AssetsPrefix; other paths are a JSON 404. It expects the reverse-proxy
// prefix already stripped from r.URL.Path and reads X-Script-Name only to
// put that prefix into the page's URLs (API.md §11).
func UIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		p := r.URL.Path
		switch {
		case p == UIPath:
			servePage(w, r)
		case strings.HasPrefix(p, AssetsPrefix):
			a, ok := assets()[strings.TrimPrefix(p, AssetsPrefix)]
			if !ok {
				writeError(w, http.StatusNotFound)
				return
			}
			serve(w, r, a)
		default:
			writeError(w, http.StatusNotFound)
		}
	})
}

// servePage renders the page. With an X-Script-Name its URLs are
// root-relative under that prefix, like upstream's (the browser resolves
// them with the scheme and host it used, which is what X-Scheme would
// restore), and work whether the page was reached with or without a
// trailing slash. Without the header the prefix is unknown: the URLs are
// relative to the page, so the page works behind any prefix a proxy strips
// (/api/v1/ → /, /api/v1/swagger-ui/… → /swagger-ui/…). A page reached
// without its trailing slash (/api/v1, which a proxy may also map to /)
// would resolve them against the parent (/api/), so a first inline script
// moves the browser to the slash form before anything else loads.
func servePage(w http.ResponseWriter, r *http.Request) {
	data := struct {
		SpecURL, Assets string
		SlashFix        bool
	}{strings.TrimPrefix(SpecPath, "/"), strings.TrimPrefix(AssetsPrefix, "/"), true}
	if prefix := scriptName(r); prefix != "" {
		data.SpecURL, data.Assets, data.SlashFix = prefix+SpecPath, prefix+AssetsPrefix, false
	}
	var buf bytes.Buffer
	err := page.Execute(&buf, data)
	if err != nil {
		writeError(w, http.StatusInternalServerError)
		return
	}
	// The page differs per prefix: shared caches must not mix them up.
	w.Header().Set("Vary", "X-Script-Name")
	serve(w, r, asset{body: buf.Bytes(), contentType: "text/html; charset=utf-8"})
}

// scriptName returns the X-Script-Name prefix without trailing slash, or ""
// when absent, "/" or not a plain absolute path. Anything that a browser could
// read as another origin ("//host", backslashes) is refused, so a forged
// header cannot make the page load scripts from elsewhere.
func scriptName(r *http.Request) string {
	p := strings.TrimRight(r.Header.Get("X-Script-Name"), "/")
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") {
		return ""
	}
	for _, c := range p {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/-._~%", c)
		if !ok {
			return ""
		}
	}
	return p
}

// serve writes a with revalidation caching: clients keep a copy but ask
// again each time, so an upgraded binary is picked up at once.
func serve(w http.ResponseWriter, r *http.Request, a asset) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	if a.etag != "" {
		h.Set("ETag", a.etag)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// getOrHead answers anything but GET/HEAD with the JSON 405 of API.md §1 and
// reports whether the request may proceed. The router normally filters
// methods first; this keeps the handlers safe on their own.
func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, http.StatusMethodNotAllowed)
	return false
}

// writeError writes the bare error envelope {"code","status"} (API.md §3.3).
func writeError(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(`{"code":` + strconv.Itoa(code) + `,"status":"` + http.StatusText(code) + `"}`))
}
