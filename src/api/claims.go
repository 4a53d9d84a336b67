package api

import (
	"net/http"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// claimJSON is the Claim representation (API.md §4).
type claimJSON struct {
	ID             uuid.UUID      `json:"id"`
	UploadDatetime perf.Timestamp `json:"upload_datetime"`
	Message        string         `json:"message"`
	ResourceType   string         `json:"resource_type"`
	ResourceID     *uuid.UUID     `json:"resource_id,omitempty"`
	Uploader       userJSON       `json:"uploader"`
}

func toClaimJSON(c perf.Claim) claimJSON {
	return claimJSON{ID: c.ID, UploadDatetime: perf.Timestamp(c.UploadDatetime), Message: c.Message,
		ResourceType: c.ResourceType, ResourceID: c.ResultID, Uploader: toUserJSON(c.Claimant)}
}

// claimQuery reads the parameters of the claim listings.
func claimQuery(r *http.Request) (*query, perf.ClaimFilter, perf.Page) {
	q := newQuery(r, "page", "per_page", "upload_before", "upload_after", "status", "sort_by")
	return q, perf.ClaimFilter{Status: q.status(), Dates: q.uploadDates()}, q.page()
}

func (s *server) listClaims(w http.ResponseWriter, r *http.Request, q *query, f perf.ClaimFilter, p perf.Page) error {
	return listed(w, q, "claim", "+upload_datetime", func(sort []perf.SortKey) (perf.List[perf.Claim], error) {
		return s.store.ListClaims(r.Context(), f, sort, p)
	}, toClaimJSON)
}

// handleClaimList handles GET /reports/claims.
func (s *server) handleClaimList(w http.ResponseWriter, r *http.Request) error {
	q, f, p := claimQuery(r)
	return s.listClaims(w, r, q, f, p)
}

// handleResultClaims handles GET /results/{result_id}/claims: query 422,
// then 404, then the owner-or-admin 403.
func (s *server) handleResultClaims(w http.ResponseWriter, r *http.Request) error {
	q, f, p := claimQuery(r)
	if err := q.err(); err != nil {
		return err
	}
	id := pathUUID(r, "result_id")
	if err := s.ownerOrAdmin(r, id); err != nil {
		return err
	}
	f.ResultID = &id
	return s.listClaims(w, r, q, f, p)
}

// handleUserClaims handles GET /users/self/claims.
func (s *server) handleUserClaims(w http.ResponseWriter, r *http.Request) error {
	q, f, p := claimQuery(r)
	c := callerOf(r)
	f.Claimant = &perf.Uploader{UploaderSub: c.Sub, UploaderIss: c.Iss}
	return s.listClaims(w, r, q, f, p)
}

// handleClaimGet handles GET /reports/claims/{report_id}.
func (s *server) handleClaimGet(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.GetClaim(r.Context(), pathUUID(r, "report_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toClaimJSON(c))
	return nil
}

// claimFields is the body schema of ClaimReport.
var claimFields = []field{{name: "message", kind: kindString, required: true}}

// handleResultClaim handles POST /results/{result_id}:claim: the result is
// hidden until the claim is reviewed; its uploader is told.
func (s *server) handleResultClaim(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, claimFields...)
	if err != nil {
		return err
	}
	caller := callerOf(r)
	msg, _ := b.str("message")
	resultID := pathUUID(r, "result_id")
	claim := perf.Claim{ID: uuid.New(), UploadDatetime: perf.Now(), Message: msg, ResourceType: "result",
		Claimant: perf.User{Sub: caller.Sub, Iss: caller.Iss}}
	claim, owner, err := s.store.ClaimResult(r.Context(), resultID, claim)
	if err != nil {
		return err
	}
	s.notify(perf.MailClaimed(owner, resultID.String(), claim.ID.String()))
	writeJSON(w, http.StatusCreated, toClaimJSON(claim))
	return nil
}

// handleClaimApprove handles POST /reports/claims/{report_id}:approve: the
// result stays hidden.
func (s *server) handleClaimApprove(w http.ResponseWriter, r *http.Request) error {
	if err := strictQuery(r); err != nil {
		return err
	}
	id := pathUUID(r, "report_id")
	rev, err := s.store.ApproveClaim(r.Context(), id)
	if err != nil {
		return err
	}
	s.notify(perf.MailApproved(rev.ClaimantEmail, "claim", id.String()))
	noContent(w)
	return nil
}

// handleClaimReject handles POST /reports/claims/{report_id}:reject: the
// claim goes, and its result is restored when no other claim is left.
func (s *server) handleClaimReject(w http.ResponseWriter, r *http.Request) error {
	if err := strictQuery(r); err != nil {
		return err
	}
	id := pathUUID(r, "report_id")
	rev, err := s.store.RejectClaim(r.Context(), id)
	if err != nil {
		return err
	}
	s.notify(perf.MailRejected(rev.ClaimantEmail, "claim", id.String()))
	if rev.Restored && rev.ResultID != nil {
		s.notify(perf.MailRestored(rev.ResultUploaderEmail, rev.ResultID.String()))
	}
	noContent(w)
	return nil
}
