package app

// The typed parsers and checks the settings table binds its variables with.

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// binder parses a raw value into its field of Settings and formats the field
// back for the effective view of the config subcommand.
type binder struct {
	parse  func(s *Settings, raw string) error
	format func(s *Settings) string
}

// stringVar binds a string field; check, when not nil, validates the value.
func stringVar(field func(*Settings) *string, check func(string) error) binder {
	return binder{
		parse: func(s *Settings, raw string) error {
			*field(s) = raw
			if check != nil {
				return check(raw)
			}
			return nil
		},
		format: func(s *Settings) string { return *field(s) },
	}
}

// intVar binds an integer field whose value must lie in [lo, hi].
func intVar[T int | int64](field func(*Settings) *T, lo, hi int64) binder {
	return binder{
		parse: func(s *Settings, raw string) error {
			n, err := parseInt(raw, lo, hi)
			*field(s) = T(n)
			return err
		},
		format: func(s *Settings) string { return strconv.FormatInt(int64(*field(s)), 10) },
	}
}

// optIntVar is intVar where an empty value is allowed and stored as -1.
func optIntVar(field func(*Settings) *int, lo, hi int64) binder {
	return binder{
		parse: func(s *Settings, raw string) error {
			if strings.TrimSpace(raw) == "" {
				*field(s) = -1
				return nil
			}
			n, err := parseInt(raw, lo, hi)
			*field(s) = int(n)
			return err
		},
		format: func(s *Settings) string {
			if *field(s) < 0 {
				return ""
			}
			return strconv.Itoa(*field(s))
		},
	}
}

func parseInt(raw string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("must be an integer, got %q", raw)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("must be between %d and %d, got %d", lo, hi, n)
	}
	return n, nil
}

// durationVar binds a Go duration ("30s", "5m") of at least least.
func durationVar(field func(*Settings) *time.Duration, least time.Duration) binder {
	return binder{
		parse: func(s *Settings, raw string) error {
			d, err := time.ParseDuration(strings.TrimSpace(raw))
			if err != nil {
				return fmt.Errorf("must be a Go duration such as 30s or 5m, got %q", raw)
			}
			if d < least {
				return fmt.Errorf("must be at least %v, got %v", least, d)
			}
			*field(s) = d
			return nil
		},
		format: func(s *Settings) string { return field(s).String() },
	}
}

// listVar binds a comma list: an empty string is an empty list, items are
// trimmed and empty items dropped; check, when not nil, validates each item.
func listVar(field func(*Settings) *[]string, check func(string) error) binder {
	return binder{
		parse: func(s *Settings, raw string) error {
			items := splitList(raw)
			*field(s) = items
			var errs []error
			if check != nil {
				for _, it := range items {
					if err := check(it); err != nil {
						errs = append(errs, err)
					}
				}
			}
			return errors.Join(errs...)
		},
		format: func(s *Settings) string { return strings.Join(*field(s), ",") },
	}
}

func splitList(raw string) []string {
	items := []string{}
	for it := range strings.SplitSeq(raw, ",") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	return items
}

// checkPort accepts a TCP port number.
func checkPort(v string) error {
	_, err := parseInt(v, 1, 65535)
	if err != nil {
		return fmt.Errorf("must be a port number (1-65535), got %q", v)
	}
	return nil
}

// checkHostPort accepts host:port with a numeric port; an empty host means
// every interface and port 0 a free port (tests).
func checkHostPort(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err == nil {
		_, err = parseInt(port, 0, 65535)
	}
	if err != nil {
		return fmt.Errorf("must be host:port such as :5000 or 127.0.0.1:5000, got %q", v)
	}
	return nil
}

// checkOptionalHostPort is checkHostPort where empty means "off".
func checkOptionalHostPort(v string) error {
	if v == "" {
		return nil
	}
	return checkHostPort(v)
}

// checkIssuer accepts an absolute http(s) URL, as an OpenID issuer must be.
func checkIssuer(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", v)
	}
	return nil
}

// checkOrigin accepts a browser origin (scheme://host[:port], nothing more)
// or "*"; browsers send the Origin header in exactly that form.
func checkOrigin(v string) error {
	if v == "*" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an origin such as https://example.org or *", v)
	}
	return nil
}

// checkCAFile accepts empty or a readable PEM file with a certificate, so a
// broken file stops the start instead of the first login.
func checkCAFile(v string) error {
	if v == "" {
		return nil
	}
	return addPEMFile(x509.NewCertPool(), v)
}
