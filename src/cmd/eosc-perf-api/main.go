// Command eosc-perf-api serves the EOSC Performance API. Everything lives in
// package app; main only hands it the process environment.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/eosc-perf/api/src/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Run(ctx, os.Args, os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
