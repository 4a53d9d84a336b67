// Package app is the composition root of eosc-perf-api.
package app

// Temporary: keeps the planned modules in go.mod while the packages that use
// them are being written. Removed once each is imported for real.
import (
	_ "github.com/coreos/go-oidc/v3/oidc"
	_ "github.com/emersion/go-smtp"
	_ "github.com/getkin/kin-openapi/openapi3"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/gorilla/mux"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/joho/godotenv"
	_ "github.com/lib/pq"
	_ "github.com/pressly/goose/v3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rs/zerolog"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
)
