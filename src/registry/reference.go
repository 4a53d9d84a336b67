package registry

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The image reference grammar of the Docker distribution project
// (distribution/reference): lowercase path components joined by ".", "_",
// "__" or dashes; an optional registry host (DNS labels, optional port); a
// tag of word characters, dots and dashes, at most 128 long.
var (
	pathComponent   = `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
	domainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	pathRE          = regexp.MustCompile(`^` + pathComponent + `(?:/` + pathComponent + `)*$`)
	hostRE          = regexp.MustCompile(`^` + domainComponent + `(?:\.` + domainComponent + `)*(?::([0-9]{1,5}))?$`)
	tagRE           = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
)

// maxNameLen is the longest image name the grammar allows.
const maxNameLen = 255

// reference is a parsed image reference: where to ask, and for what.
type reference struct {
	host string // registry host[:port]
	path string // repository path within the registry ("library/ubuntu")
	tag  string
}

// parseReference validates image and tag and picks the registry (API.md
// §8.4): the first "/"-separated component of a name with at least two
// components is the registry host when it contains a "." — and, as Docker
// itself decides, also when it contains a ":" (a port) or is "localhost";
// otherwise the image is on Docker Hub (hub), where one-component names
// live under "library/". "docker.io/..." and "index.docker.io/..." are
// Docker Hub too. Nothing that fails the grammar ever reaches the network.
func parseReference(image, tag, hub string) (reference, error) {
	switch {
	case image == "":
		return reference{}, fmt.Errorf("image name is empty")
	case len(image) > maxNameLen:
		return reference{}, fmt.Errorf("image name is longer than %d characters", maxNameLen)
	case tag == "":
		return reference{}, fmt.Errorf("tag is empty")
	case len(tag) > 128:
		return reference{}, fmt.Errorf("tag is longer than 128 characters")
	}
	host, path := "", image
	if first, rest, ok := strings.Cut(image, "/"); ok {
		if strings.ContainsAny(first, ".:") || first == "localhost" {
			host, path = first, rest
		}
	}
	if host != "" && !validHost(host) {
		return reference{}, fmt.Errorf("invalid image name %q: bad registry host %q", image, host)
	}
	if !pathRE.MatchString(path) {
		return reference{}, fmt.Errorf("invalid image name %q", image)
	}
	if !tagRE.MatchString(tag) {
		return reference{}, fmt.Errorf("invalid tag %q", tag)
	}
	if host == "" || host == "docker.io" || host == "index.docker.io" {
		host = hub
		if !strings.Contains(path, "/") {
			path = "library/" + path
		}
	}
	return reference{host: host, path: path, tag: tag}, nil
}

// validHost reports whether host is DNS labels with an optional port in
// 1..65535.
func validHost(host string) bool {
	m := hostRE.FindStringSubmatch(host)
	if m == nil {
		return false
	}
	if m[1] != "" {
		port, err := strconv.Atoi(m[1])
		return err == nil && port >= 1 && port <= 65535
	}
	return true
}

// manifestURL is where the registry serves the manifest of the reference
// (Docker Registry HTTP API v2).
func (r reference) manifestURL() string {
	return "https://" + r.host + "/v2/" + r.path + "/manifests/" + r.tag
}
