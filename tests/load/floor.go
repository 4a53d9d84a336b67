package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The honest floor (issue 11): for each scenario, the minimal SQL that any
// implementation of the endpoint must run — the page's documents and its
// total, or the one row, or the one insert — sent directly with the same
// driver (lib/pq) and scanned into bytes, not through the store. The
// catalog (benchmark, site, flavor) is left out: it is tiny and any
// implementation can cache it. JSON filters and sorts are written as plain
// jsonb expressions on result, which is what PostgreSQL itself offers
// without a helper table.

// floorColumns is what the floor reads of each result: the columns of the
// representation that are the result's own, and its tag ids.
const floorColumns = `r.id, r.upload_datetime, r.execution_datetime, r.json::text, r.benchmark_id, r.site_id, r.flavor_id,
	ARRAY(SELECT rt.tag_id FROM result_tags rt WHERE rt.result_id = r.id)::text`

// floorList is the SQL of a list scenario's floor: its WHERE (on r) and
// ORDER BY, and the parameters.
type floorList struct {
	Where string
	Order string
	Args  []any
}

// floorQuery counts and reads page 1 of 100 of fl, scanning every column
// into bytes; it returns the total.
func floorQuery(ctx context.Context, db *sql.DB, fl floorList) (int, error) {
	var total int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM result r WHERE `+fl.Where, fl.Args...).Scan(&total); err != nil {
		return 0, fmt.Errorf("floor count: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT `+floorColumns+` FROM result r WHERE `+fl.Where+` ORDER BY `+fl.Order+` LIMIT 100`, fl.Args...)
	if err != nil {
		return 0, fmt.Errorf("floor page: %w", err)
	}
	if err := scanBytes(rows); err != nil {
		return 0, fmt.Errorf("floor page: %w", err)
	}
	return total, nil
}

// scanBytes reads every row, copying each column into bytes, and closes
// rows.
func scanBytes(rows *sql.Rows) error {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([][]byte, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// floorGet reads one result by id.
func floorGet(ctx context.Context, db *sql.DB, id uuid.UUID) error {
	rows, err := db.QueryContext(ctx, `SELECT `+floorColumns+` FROM result r WHERE r.id = $1`, id)
	if err != nil {
		return err
	}
	return scanBytes(rows)
}

// floorInsert stores one result (no checks, no validation): one INSERT
// with its tags in the same statement.
func floorInsert(ctx context.Context, db *sql.DB, u upload, cat catalog) error {
	var tag any
	if len(u.tags) > 0 {
		tag = u.tags[0].String()
	}
	_, err := db.ExecContext(ctx, `WITH r AS (INSERT INTO result (id, uploader_sub, uploader_iss, upload_datetime, json,
		execution_datetime, benchmark_id, flavor_id, site_id, deleted) VALUES ($1, $2, $3, now(), $4, $5, $6, $7, $8, false) RETURNING id)
		INSERT INTO result_tags (result_id, tag_id) SELECT r.id, $9::uuid FROM r WHERE $9::uuid IS NOT NULL`,
		uuid.New(), cat.UserSub, cat.UserIss, string(u.doc), u.exec.UTC(), cat.BenchmarkID, u.flavor.ID, u.flavor.SiteID, tag)
	return err
}

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// cpuTime returns the user plus system CPU time process pid has used.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields count from after
	// its closing parenthesis: utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(u+s) * clockTick, nil
}

// wire is the size of the list scenario's page on the wire.
type wire struct{ identity, gzip int }

// wireSizes fetches the first page of 100 once without and once with
// Accept-Encoding: gzip and counts the body bytes received.
func (s *sides) wireSizes(ctx context.Context) (wire, error) {
	var out wire
	for _, enc := range []string{"identity", "gzip"} {
		req, err := http.NewRequestWithContext(ctx, "GET", s.base+"/results?per_page=100", nil)
		if err != nil {
			return out, err
		}
		req.Header.Set("Accept-Encoding", enc)
		resp, err := s.http.Do(req)
		if err != nil {
			return out, err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return out, err
		}
		if enc == "gzip" {
			out.gzip = int(n)
		} else {
			out.identity = int(n)
		}
	}
	return out, nil
}
