package app

import (
	"io"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// newLogger returns zerolog writing JSON in production and readable console
// lines in development, at LOG_LEVEL.
func newLogger(s Settings, w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(s.LogLevel)
	if err != nil || s.LogLevel == "" {
		level = zerolog.InfoLevel
	}
	if s.Development() {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// logWriter turns lines written by libraries (goose) into log lines.
type logWriter struct{ log zerolog.Logger }

func (l logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if line != "" {
			l.log.Info().Msg(line)
		}
	}
	return len(p), nil
}
