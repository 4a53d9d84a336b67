// Package registry checks that a benchmark's container image exists before
// the benchmark is stored (API.md §8.4, BENCHMARK_IMAGE_CHECK=registry): it
// asks the image's registry for the manifest of the tag over the Docker
// Registry HTTP API v2, anonymously, following the registry's Bearer token
// challenge, within a bounded time. Off is the checker for
// BENCHMARK_IMAGE_CHECK=off (tests, offline deployments).
//
// Every failure is a 422 (*perf.Error of kind Invalid) reading
// "Could not validate container image: <reason>", with upstream's reasons
// for the registry's answers ("Error: not authorized", "Error: manifest not
// found", "Error: pulling manifest") and a short text for network failures.
// Names and tags that are not valid image references are refused before any
// network traffic.
package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/eosc-perf/api/src/perf"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultTimeout           = 10 * time.Second
	DefaultDockerHubRegistry = "registry-1.docker.io"
)

// userAgent identifies the service to registries.
const userAgent = "eosc-perf-api"

// maxRedirects bounds the redirects followed for one request.
const maxRedirects = 5

// manifestTypes are the manifest media types accepted, so that registries
// answer for single-platform images and multi-platform lists alike.
var manifestTypes = []string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
}

// Options configure a Checker.
type Options struct {
	// HTTPClient sends the requests (nil: a client with a clone of
	// http.DefaultTransport, proxies from the environment). Its redirect
	// policy is replaced: only https redirects, at most 5.
	HTTPClient *http.Client
	// Timeout bounds one whole Check, token flow included (0: 10 s).
	Timeout time.Duration
	// DockerHubRegistry is the host[:port] asked for Docker Hub images
	// (empty: registry-1.docker.io).
	DockerHubRegistry string
	// AllowPrivate lets the checker connect to loopback, private,
	// link-local and other non-public addresses. Off by default: image
	// names come from users, and without the guard any registered user
	// could make the server probe the hosts and ports of its own network.
	// When off, the transport's DialContext is replaced by a guarded one.
	AllowPrivate bool
}

// Checker asks registries for manifests. Safe for concurrent use.
type Checker struct {
	client  *http.Client
	timeout time.Duration
	hub     string
	// denyPrivate: non-public addresses are refused (Options.AllowPrivate
	// false).
	denyPrivate bool
}

// New returns a Checker with the defaults applied.
func New(opt Options) *Checker {
	var client http.Client
	if opt.HTTPClient != nil {
		client = *opt.HTTPClient
	} else {
		client.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if !opt.AllowPrivate {
		tr, ok := client.Transport.(*http.Transport)
		if !ok || tr == nil {
			tr = http.DefaultTransport.(*http.Transport).Clone()
		} else {
			tr = tr.Clone()
		}
		d := &net.Dialer{Timeout: 10 * time.Second, Control: refusePrivate}
		tr.DialContext = d.DialContext
		client.Transport = tr
	}
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return &reasonError{"Error: too many redirects"}
		}
		if req.URL.Scheme != "https" {
			return &reasonError{"Error: redirect to a non-https URL"}
		}
		return nil
	}
	c := &Checker{client: &client, timeout: opt.Timeout, hub: opt.DockerHubRegistry, denyPrivate: !opt.AllowPrivate}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.hub == "" {
		c.hub = DefaultDockerHubRegistry
	}
	return c
}

// Check asks the registry of image for the manifest of tag. nil means the
// registry answered 200; otherwise the Invalid *perf.Error says why.
func (c *Checker) Check(ctx context.Context, image, tag string) error {
	ref, err := parseReference(image, tag, c.hub)
	if err != nil {
		return fail(err.Error(), nil)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	status, err := c.manifestStatus(ctx, ref)
	if err != nil {
		return fail(c.reason(ctx, err), err)
	}
	switch status {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized:
		return fail("Error: not authorized", nil)
	case http.StatusNotFound:
		return fail("Error: manifest not found", nil)
	default:
		return fail("Error: pulling manifest", fmt.Errorf("registry %s answered HTTP %d", ref.host, status))
	}
}

// fail builds the 422 of a failed check; cause goes to the log only.
func fail(reason string, cause error) *perf.Error {
	return &perf.Error{Kind: perf.Invalid, Msg: "Could not validate container image: " + reason, Err: cause}
}

// manifestStatus returns the registry's final status for the manifest:
// anonymous first, then once more with a token when the registry
// challenges with Bearer.
func (c *Checker) manifestStatus(ctx context.Context, ref reference) (int, error) {
	status, challenges, err := c.askManifest(ctx, ref, "")
	if err != nil || status != http.StatusUnauthorized {
		return status, err
	}
	ch, ok := bearerChallenge(challenges)
	if !ok {
		return status, nil // Basic or no challenge: no anonymous access
	}
	tok, tokStatus, err := c.token(ctx, ch, ref)
	if err != nil || tok == "" {
		return tokStatus, err
	}
	status, _, err = c.askManifest(ctx, ref, tok)
	return status, err
}

// askManifest sends HEAD for the manifest (a HEAD does not count as a pull
// against Docker Hub's rate limit), falling back to GET for registries that
// do not implement HEAD. It returns the status and the WWW-Authenticate
// values.
func (c *Checker) askManifest(ctx context.Context, ref reference, token string) (int, []string, error) {
	resp, err := c.send(ctx, http.MethodHead, ref.manifestURL(), token)
	if err != nil {
		return 0, nil, err
	}
	drain(resp)
	if resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented {
		if resp, err = c.send(ctx, http.MethodGet, ref.manifestURL(), token); err != nil {
			return 0, nil, err
		}
		drain(resp)
	}
	return resp.StatusCode, resp.Header.Values("WWW-Authenticate"), nil
}

func (c *Checker) send(ctx context.Context, method, target, token string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, err
	}
	for _, t := range manifestTypes {
		req.Header.Add("Accept", t)
	}
	req.Header.Set("User-Agent", userAgent)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.client.Do(req)
}

// drain reads what is left of a body (bounded, so that the connection can
// be reused) and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// reasonError is an error whose text is a client-visible reason.
type reasonError struct{ reason string }

func (e *reasonError) Error() string { return e.reason }

// reason turns a failure to talk to a registry or token realm into a short
// text: no stack, no URL (only the host, never credentials), no resolver
// addresses.
func (c *Checker) reason(ctx context.Context, err error) string {
	var re *reasonError
	var dnsErr *net.DNSError
	var addrErr *net.AddrError
	if errors.As(err, &re) {
		return re.reason
	}
	if c.denyPrivate && (errors.As(err, &dnsErr) || errors.As(err, &addrErr)) && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// Same answer as for a name that resolves to a private address, so
		// that users cannot tell internal names from missing ones.
		return errPrivateAddress.reason
	}
	host := "the registry"
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			host = u.Host
		}
	}
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("Error: timeout after %s asking %s", c.timeout, host)
	case errors.Is(err, context.Canceled):
		return "Error: request canceled"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("Error: cannot resolve host %s", dnsErr.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("Error: connection refused by %s", host)
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &invalidCert):
		return fmt.Sprintf("Error: TLS certificate of %s is not trusted", host)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("Error: timeout asking %s", host)
	case ue != nil:
		return fmt.Sprintf("Error: cannot reach %s: %s", host, shorten(ue.Err.Error()))
	default:
		return fmt.Sprintf("Error: cannot reach %s: %s", host, shorten(err.Error()))
	}
}

// shorten bounds a foreign error text in a client message.
func shorten(s string) string {
	const limit = 160
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// errPrivateAddress is the reason given for a registry on a non-public
// address.
// A name that does not resolve gets the same reason while non-public
// addresses are refused: otherwise the difference between "cannot resolve"
// and "not allowed" would tell users which internal names exist.
var errPrivateAddress = &reasonError{"Error: registry host not found or address not allowed"}

// refusePrivate is the dialer's Control hook: it runs after name
// resolution, on the address actually dialled, so a public name that
// resolves to a private address is refused too.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return errPrivateAddress
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !publicAddr(ip.Unmap()) || !publicAddr(embeddedIPv4(ip.Unmap())) {
		return errPrivateAddress
	}
	return nil
}

// nonPublic are ranges IsGlobalUnicast accepts that are not the public
// Internet: RFC 6598 carrier-grade NAT space, the RFC 2544 benchmarking
// range and the IETF protocol assignments.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("192.0.0.0/24"),
}

// publicAddr reports whether ip is an ordinary public unicast address.
func publicAddr(ip netip.Addr) bool {
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false // loopback, link-local, multicast, unspecified, RFC 1918, ULA
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Prefixes of IPv6 addresses that carry an IPv4 address which a translator
// or tunnel on the path may deliver to: NAT64 (RFC 6052, the IPv4 address in
// the last 32 bits) and 6to4 (RFC 3056, in bits 16–47). The local-use NAT64
// prefix 64:ff9b:1::/48 (RFC 8215) is never public.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	nat64Any  = netip.MustParsePrefix("64:ff9b::/32")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 returns the IPv4 address a NAT64 or 6to4 address wraps, ip
// itself for any other address, and the unspecified address (never public)
// for other addresses of the NAT64 well-known /32.
func embeddedIPv4(ip netip.Addr) netip.Addr {
	if !ip.Is6() || ip.Is4In6() {
		return ip
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	case nat64Any.Contains(ip):
		return netip.IPv4Unspecified()
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}
	return ip
}
