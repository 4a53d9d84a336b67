package store

// The background indexer of result_leaf (migration 00013): uploads record
// their results in result_leaf_pending; DrainLeaves moves them into
// result_leaf in batches, and RunLeafIndexer keeps doing so while the
// service runs. Every replica runs one; they share the work through row
// locks (SKIP LOCKED), never index a result twice and never wait for each
// other.

import (
	"context"
	"time"
)

// drainLeaves indexes up to $1 pending results in one statement, hence one
// transaction: their leaf rows appear and their pending rows disappear
// together, which is what makes the filters exact (results_filter.go).
// The pending rows are locked FOR UPDATE SKIP LOCKED, so that replicas
// take disjoint batches; the results FOR SHARE SKIP LOCKED, so that a
// rewrite or delete of a result (whose trigger deletes its leaf rows and
// pending row) cannot interleave with its indexing, and a result locked by
// such a writer is left for a later batch instead of waited for (waiting
// there, while holding its pending row that the writer's trigger needs,
// would deadlock). In READ COMMITTED, FOR SHARE reads the newest version
// of a result that changed since the statement's snapshot.
const drainLeaves = `WITH batch AS (
		SELECT p.result_id FROM result_leaf_pending p LIMIT $1 FOR UPDATE SKIP LOCKED
	), r AS (
		SELECT r.id, r.json FROM result r WHERE r.id IN (SELECT result_id FROM batch) FOR SHARE OF r SKIP LOCKED
	), gone AS (
		DELETE FROM result_leaf_pending p WHERE p.result_id IN (SELECT id FROM r)
	), leaves AS (
		INSERT INTO result_leaf (result_id, path, kind, num, txt)
		SELECT r.id, l.path, l.kind, l.num, l.txt FROM r CROSS JOIN LATERAL result_leaves(r.json) l
	)
	SELECT count(*) FROM r`

// leafBatch is how many results one batch of the indexer takes: about
// 0.2 s of one core for results of 30 leaves.
const leafBatch = 250

// DrainLeaves indexes up to limit pending results and returns how many it
// indexed. Fewer than limit means nothing else was pending or free to take
// when it ran.
func (s *Store) DrainLeaves(ctx context.Context, limit int) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, drainLeaves, limit).Scan(&n)
	return n, mapError(err, "index pending results")
}

// PendingLeaves returns the number of results whose leaves are pending.
func (s *Store) PendingLeaves(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM result_leaf_pending`).Scan(&n)
	return n, mapError(err, "count pending results")
}

// kickLeaves tells RunLeafIndexer that results were uploaded (it does not
// block; the indexer also looks every idle interval, for uploads by other
// replicas and other programs).
func (s *Store) kickLeaves() {
	select {
	case s.leafKick <- struct{}{}:
	default:
	}
}

// LeafIndexerOptions pace RunLeafIndexer.
type LeafIndexerOptions struct {
	// Idle is how long the indexer waits, when nothing was pending, before
	// it looks again (uploads through this store wake it at once).
	Idle time.Duration
	// Duty is the largest share of one core, in (0, 1], that the indexer
	// takes while results are pending: after a batch that took d it pauses
	// d*(1-Duty)/Duty, leaving the rest to the requests. A burst of uploads
	// is answered at the speed of the inserts, and indexed in the
	// background at Duty times the indexing speed.
	Duty float64
	// OnError is told about each failed batch; the indexer retries after
	// Idle.
	OnError func(error)
}

// RunLeafIndexer indexes pending results until ctx ends.
func (s *Store) RunLeafIndexer(ctx context.Context, opt LeafIndexerOptions) {
	if opt.Idle <= 0 {
		opt.Idle = time.Second
	}
	if opt.Duty <= 0 || opt.Duty > 1 {
		opt.Duty = 1
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.leafKick:
		}
		start := time.Now()
		n, err := s.DrainLeaves(ctx, leafBatch)
		if ctx.Err() != nil {
			return
		}
		wait := opt.Idle
		switch {
		case err != nil:
			if opt.OnError != nil {
				opt.OnError(err)
			}
		case n > 0:
			// The pause after any batch, also one woken by uploads.
			pause := time.Duration(float64(time.Since(start)) * (1 - opt.Duty) / opt.Duty)
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			if n == leafBatch { // more is probably pending
				wait = 0
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}
