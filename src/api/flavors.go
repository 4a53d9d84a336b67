package api

import (
	"net/http"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// flavorJSON is the Flavor representation (API.md §4): no site_id.
type flavorJSON struct {
	ID             uuid.UUID      `json:"id"`
	UploadDatetime perf.Timestamp `json:"upload_datetime"`
	Name           string         `json:"name"`
	Description    *string        `json:"description,omitempty"`
}

func toFlavorJSON(f perf.Flavor) flavorJSON {
	return flavorJSON{ID: f.ID, UploadDatetime: perf.Timestamp(f.UploadDatetime), Name: f.Name, Description: f.Description}
}

// flavorFields is the body schema of AddFlavor and UpdateFlavor.
var flavorFields = []field{{name: "name", kind: kindString, required: true}, {name: "description", kind: kindString}}

// flavorUpdateFields is the body schema of UpdateFlavor: the writable
// fields and the representation's read-only members (API.md §13.1 item 12).
var flavorUpdateFields = withEcho(flavorFields, echoID, echoUploaded)

// handleFlavorList handles GET /sites/{site_id}/flavors.
func (s *server) handleFlavorList(w http.ResponseWriter, r *http.Request) error {
	q, f, p := catalogQuery(r, false, "name")
	return listed(w, q, "flavor", "+name", func(sort []perf.SortKey) (perf.List[perf.Flavor], error) {
		return s.store.ListFlavors(r.Context(), pathUUID(r, "site_id"), f, sort, p)
	}, toFlavorJSON)
}

// handleFlavorSearch handles GET /sites/{site_id}/flavors:search.
func (s *server) handleFlavorSearch(w http.ResponseWriter, r *http.Request) error {
	q, f, p := catalogQuery(r, true)
	return listed(w, q, "flavor", "", func(sort []perf.SortKey) (perf.List[perf.Flavor], error) {
		return s.store.ListFlavors(r.Context(), pathUUID(r, "site_id"), f, sort, p)
	}, toFlavorJSON)
}

// handleFlavorCreate handles POST /sites/{site_id}/flavors.
func (s *server) handleFlavorCreate(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, flavorFields...)
	if err != nil {
		return err
	}
	c := callerOf(r)
	fl := perf.Flavor{ID: uuid.New(), UploadDatetime: perf.Now(), Status: perf.OnReview, SiteID: pathUUID(r, "site_id"),
		Description: b.optStr("description"), Uploader: perf.Uploader{UploaderSub: c.Sub, UploaderIss: c.Iss}}
	fl.Name, _ = b.str("name")
	rev, err := s.store.CreateFlavor(r.Context(), fl)
	if err != nil {
		return err
	}
	s.notify(perf.MailSubmitted(rev.UploaderEmail, "flavor", fl.ID.String()))
	writeJSON(w, http.StatusCreated, toFlavorJSON(fl))
	return nil
}

// handleFlavorGet handles GET /flavors/{flavor_id}.
func (s *server) handleFlavorGet(w http.ResponseWriter, r *http.Request) error {
	fl, err := s.store.GetFlavor(r.Context(), pathUUID(r, "flavor_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toFlavorJSON(fl))
	return nil
}

// handleFlavorSite handles GET /flavors/{flavor_id}/site.
func (s *server) handleFlavorSite(w http.ResponseWriter, r *http.Request) error {
	site, err := s.store.GetFlavorSite(r.Context(), pathUUID(r, "flavor_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSiteJSON(site))
	return nil
}

// handleFlavorUpdate handles PUT /flavors/{flavor_id}; the site cannot change.
func (s *server) handleFlavorUpdate(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, flavorUpdateFields...)
	if err != nil {
		return err
	}
	id := pathUUID(r, "flavor_id")
	err = checkEcho(b, func() (stored, error) {
		fl, err := s.store.GetFlavor(r.Context(), id)
		return stored{fl.ID, fl.UploadDatetime}, err
	})
	if err != nil {
		return err
	}
	name, _ := b.str("name")
	if err := s.store.UpdateFlavor(r.Context(), id, name, b.optStr("description")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// handleFlavorDelete handles DELETE /flavors/{flavor_id}.
func (s *server) handleFlavorDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteFlavor(r.Context(), pathUUID(r, "flavor_id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// handleFlavorApprove handles POST /flavors/{flavor_id}:approve.
func (s *server) handleFlavorApprove(w http.ResponseWriter, r *http.Request) error {
	return s.review(w, r, pathUUID(r, "flavor_id"), "flavor", s.store.ApproveFlavor, perf.MailApproved)
}

// handleFlavorReject handles POST /flavors/{flavor_id}:reject.
func (s *server) handleFlavorReject(w http.ResponseWriter, r *http.Request) error {
	return s.review(w, r, pathUUID(r, "flavor_id"), "flavor", s.store.RejectFlavor, perf.MailRejected)
}
