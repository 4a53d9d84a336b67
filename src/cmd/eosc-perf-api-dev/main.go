// Command eosc-perf-api-dev runs the API locally for development: a
// throwaway PostgreSQL with sample data, a development OpenID provider and
// ready-to-paste tokens (package dev). It is not part of the service binary,
// which must not contain a provider that mints tokens.
//
//	go run ./src/cmd/eosc-perf-api-dev [--addr :5000]
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/eosc-perf/api/src/dev"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dev.Run(ctx, os.Args, os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
