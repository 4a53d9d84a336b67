package store

import (
	"context"
	"database/sql"
)

// Fingerprint exposes schemaFingerprint to the tests of package store_test.
func Fingerprint(ctx context.Context, db *sql.DB) (string, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return schemaFingerprint(ctx, conn)
}

// UpstreamFingerprint is the embedded fingerprint of 1.2.3's schema.
func UpstreamFingerprint() string { return upstreamFingerprint }
