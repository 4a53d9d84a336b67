package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/pgtest/upstream123"
	"github.com/eosc-perf/api/src/store"
	"github.com/google/uuid"
)

// Rejections of different claims of one result, all at once, each answer
// correctly: no deadlock (40P01) reaches the caller, every claim is gone,
// and the result is restored exactly once. Run on the adopted 1.2.3
// fixture, so one of the claims of the first result is one 1.2.3 filed.
func TestConcurrentRejectionsOfOneResult(t *testing.T) {
	t.Parallel()
	dsn := upstreamDSN(t, upstream123.InsertsFile)
	db := freshPool(t, dsn)
	migrate(t, db, store.MigrateUp)
	st, err := store.Open(dsn, store.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := testContext(t)
	m := upstream123.Load()
	claimants := []perf.User{}
	for _, name := range []string{"alice", "bob", "admin"} {
		u := m.IDs.Users[name]
		claimants = append(claimants, perf.User{Sub: u.Sub, Iss: u.Iss})
	}

	results := []uuid.UUID{uuid.MustParse(m.IDs.Claims["pending"].ResultID)} // hidden by 1.2.3's claim
	for _, r := range m.IDs.Results {
		if r.FinalState == "visible" && len(results) < 3 {
			results = append(results, uuid.MustParse(r.ID))
		}
	}
	for round := range 3 {
		claims := map[uuid.UUID]uuid.UUID{} // claim -> result
		if round == 0 {
			claims[uuid.MustParse(m.IDs.Claims["pending"].ID)] = results[0]
		}
		for _, rid := range results {
			for i := 0; len(claimsOf(claims, rid)) < 4; i++ {
				c := perf.Claim{ID: uuid.New(), UploadDatetime: time.Now().UTC(), Message: fmt.Sprintf("round %d", round),
					Claimant: claimants[i%len(claimants)]}
				if _, _, err := st.ClaimResult(ctx, rid, c); err != nil {
					t.Fatalf("claim %s: %v", rid, err)
				}
				claims[c.ID] = rid
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		restored := map[uuid.UUID]int{}
		start := make(chan struct{})
		for cid, rid := range claims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				rev, err := st.RejectClaim(ctx, cid)
				if err != nil {
					t.Errorf("round %d: reject %s: %v (kind %v)", round, cid, err, perf.KindOf(err))
					return
				}
				if rev.Restored {
					mu.Lock()
					restored[rid]++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		for _, rid := range results {
			if restored[rid] != 1 {
				t.Errorf("round %d: result %s restored %d times, want once", round, rid, restored[rid])
			}
			if n := count(t, db, `SELECT count(*) FROM result WHERE id = $1 AND NOT deleted AND _claim_report_id IS NULL`, rid); n != 1 {
				t.Errorf("round %d: result %s not visible and unlinked after every claim was rejected", round, rid)
			}
		}
		if n := count(t, db, `SELECT count(*) FROM claim WHERE status = 'on_review'`); n != 0 {
			t.Errorf("round %d: %d pending claims left", round, n)
		}
	}
}

func claimsOf(claims map[uuid.UUID]uuid.UUID, rid uuid.UUID) []uuid.UUID {
	var out []uuid.UUID
	for c, r := range claims {
		if r == rid {
			out = append(out, c)
		}
	}
	return out
}
