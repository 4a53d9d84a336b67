package app

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// scramIterations is PostgreSQL's default scram_iterations (4096).
const scramIterations = 4096

// runScramVerifier prints the SCRAM-SHA-256 verifier of the password in a
// file (or stdin for "-"), in the form PostgreSQL stores in pg_authid and
// accepts in place of a password: `ALTER ROLE r PASSWORD '<verifier>'`
// stores it unchanged, so the password itself never reaches the server, its
// statement log or pg_stat_activity. The NixOS module uses it to set the
// database role's password. The file is read as DB_PASSWORD_FILE is: its
// trailing newlines are not part of the password.
func runScramVerifier(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scram-verifier", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("password-file", "-", "file holding the password; - reads stdin")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: scram-verifier takes no arguments (the password comes from --password-file or stdin)", errUsage)
	}
	var (
		b   []byte
		err error
	)
	if *file == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	} else {
		b, err = os.ReadFile(*file)
	}
	if err != nil {
		return fmt.Errorf("reading the password: %w", err)
	}
	v, err := scramVerifier(strings.TrimRight(string(b), "\n"), rand.Reader)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, v)
	return err
}

// scramVerifier computes `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`
// (RFC 5802, RFC 7677; PostgreSQL's src/common/scram-common.c) with a random
// 16-byte salt. PostgreSQL normalises a password with SASLprep first, which
// leaves printable ASCII unchanged; other passwords are refused here rather
// than hashed differently from what the server would compute.
func scramVerifier(password string, random io.Reader) (string, error) {
	if password == "" {
		return "", errors.New("the password is empty")
	}
	for _, r := range password {
		if r < 0x20 || r > 0x7e {
			return "", errors.New("the password holds a character outside printable ASCII, which PostgreSQL would normalise (SASLprep); use printable ASCII only")
		}
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", err
	}
	return scramVerifierWithSalt(password, salt, scramIterations)
}

func scramVerifierWithSalt(password string, salt []byte, iterations int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	server := mac(salted, "Server Key")
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, enc(salt), enc(stored[:]), enc(server)), nil
}
