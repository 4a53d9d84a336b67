package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// leafDiff counts the rows in which result_leaf differs from the leaves of
// the results that are not pending (migration 00013).
func leafDiff(t *testing.T, ctx context.Context, db *sql.DB) int {
	t.Helper()
	var diff int
	if err := db.QueryRowContext(ctx, `WITH want AS (
			SELECT r.id, l.* FROM result r CROSS JOIN LATERAL result_leaves(r.json) l
			WHERE NOT EXISTS (SELECT 1 FROM result_leaf_pending p WHERE p.result_id = r.id)
		), got AS (SELECT result_id, path, kind, num, txt FROM result_leaf)
		SELECT count(*) FROM ((SELECT * FROM got EXCEPT ALL SELECT * FROM want) UNION ALL (SELECT * FROM want EXCEPT ALL SELECT * FROM got)) d`).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	return diff
}

// TestLeafIndexersRaceWithWriters runs three indexers (as three replicas
// would) while results are inserted, rewritten and deleted: no batch fails
// (no deadlock between an indexer and a writer's trigger), and afterwards
// result_leaf holds exactly the leaves of every result.
func TestLeafIndexersRaceWithWriters(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(5))
	db := pendingFilterDB(t, randomDocs(rng, 400))
	db.SetMaxOpenConns(10)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := &Store{db: sqlx.NewDb(db, "postgres")}

	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := st.DrainLeaves(ctx, 7); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wrng := rand.New(rand.NewSource(6))
	for i := range 400 {
		name := fmt.Sprintf("d%d", wrng.Intn(400))
		var q string
		var args []any
		switch i % 4 {
		case 0:
			q, args = `DELETE FROM result WHERE id = (SELECT id FROM names WHERE name = $1)`, []any{name}
		case 1, 2:
			q, args = `UPDATE result SET json = $2 WHERE id = (SELECT id FROM names WHERE name = $1)`, []any{name, randomDoc(wrng)}
		default:
			q, args = `INSERT INTO result (id, uploader_sub, uploader_iss, upload_datetime, json, execution_datetime, benchmark_id, flavor_id, site_id, deleted)
				SELECT gen_random_uuid(), uploader_sub, uploader_iss, now(), $1, now(), benchmark_id, flavor_id, site_id, false FROM result LIMIT 1`,
				[]any{randomDoc(wrng)}
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("indexer: %v", err)
	}
	for {
		n, err := st.DrainLeaves(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if n, err := st.PendingLeaves(ctx); err != nil || n != 0 {
		t.Fatalf("%d results pending after draining (%v)", n, err)
	}
	if d := leafDiff(t, ctx, db); d != 0 {
		t.Errorf("result_leaf differs from the results' leaves in %d rows", d)
	}
}

// TestRunLeafIndexer checks the background loop: it looks at once when
// started, uploads through the store wake it (kickLeaves) however long its
// idle interval, and it stops with its context.
func TestRunLeafIndexer(t *testing.T) {
	t.Parallel()
	db := pendingFilterDB(t, map[string]string{"a": `{"a": 1}`, "b": `{"b": {"c": "x"}}`})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := &Store{db: sqlx.NewDb(db, "postgres"), leafKick: make(chan struct{}, 1)}
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		st.RunLeafIndexer(runCtx, LeafIndexerOptions{Idle: time.Hour, Duty: 0.5, OnError: func(err error) { t.Errorf("indexer: %v", err) }})
	}()
	waitIndexed := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			n, err := st.PendingLeaves(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d results still pending", what, n)
			}
		}
		if d := leafDiff(t, ctx, db); d != 0 {
			t.Errorf("%s: result_leaf differs in %d rows", what, d)
		}
	}
	waitIndexed("at start") // the first look happens at once
	if _, err := db.ExecContext(ctx, `INSERT INTO result (id, uploader_sub, uploader_iss, upload_datetime, json, execution_datetime, benchmark_id, flavor_id, site_id, deleted)
		SELECT gen_random_uuid(), uploader_sub, uploader_iss, now(), '{"z": 3}', now(), benchmark_id, flavor_id, site_id, false FROM result LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	// Idle is an hour: only the kick can wake it.
	time.Sleep(50 * time.Millisecond)
	if n, _ := st.PendingLeaves(ctx); n != 1 {
		t.Fatalf("%d pending before the kick, want 1", n)
	}
	st.kickLeaves()
	waitIndexed("after a kick")
	stop()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the indexer did not stop with its context")
	}
}

// TestConcurrentMultiGroupInsertsDoNotDeadlock: statements that add
// results to several (benchmark, site, flavor) groups at once, as bulk
// uploads do, lock result_count's rows in one order (migration 00013), so
// concurrent ones wait for each other instead of deadlocking (40P01).
func TestConcurrentMultiGroupInsertsDoNotDeadlock(t *testing.T) {
	t.Parallel()
	db := filterDB(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const groups = 12
	if _, err := db.ExecContext(ctx, `INSERT INTO flavor (id, uploader_sub, uploader_iss, upload_datetime, status, name, site_id)
		SELECT gen_random_uuid(), 's', 'i', now(), 'approved', 'f' || g, '00000000-0000-0000-0000-00000000000c' FROM generate_series(2, $1) g`, groups); err != nil {
		t.Fatal(err)
	}
	var flavors []string
	if err := sqlx.NewDb(db, "postgres").SelectContext(ctx, &flavors, `SELECT id::text FROM flavor`); err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(8)
	var wg sync.WaitGroup
	errs := make(chan error, 8*40)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for range 40 {
				// Rows in every group, in a random order, in one statement
				// inside a transaction that holds its locks a moment.
				fl := append([]string(nil), flavors...)
				rng.Shuffle(len(fl), func(i, j int) { fl[i], fl[j] = fl[j], fl[i] })
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					errs <- err
					return
				}
				_, err = tx.ExecContext(ctx, `INSERT INTO result (id, uploader_sub, uploader_iss, upload_datetime, json, execution_datetime, benchmark_id, flavor_id, site_id, deleted)
					SELECT gen_random_uuid(), 's', 'i', now(), '{}', now(), '00000000-0000-0000-0000-00000000000b', f::uuid, '00000000-0000-0000-0000-00000000000c', false
					FROM unnest($1::text[]) WITH ORDINALITY AS x(f, o), generate_series(1, 1 + o::int % 3) ORDER BY o`, pq.Array(fl))
				if err == nil {
					_, err = tx.ExecContext(ctx, `SELECT pg_sleep(0.002)`)
				}
				if err != nil {
					tx.Rollback()
					errs <- err
					continue
				}
				if err := tx.Commit(); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent insert: %v", err)
	}
	var diff int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (
		SELECT benchmark_id, site_id, flavor_id, n FROM result_count WHERE n <> 0
		EXCEPT SELECT benchmark_id, site_id, flavor_id, count(*) FROM result WHERE NOT deleted GROUP BY 1, 2, 3) d`).Scan(&diff); err != nil || diff != 0 {
		t.Errorf("result_count differs from the results in %d groups (%v)", diff, err)
	}
}
