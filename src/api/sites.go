package api

import (
	"net/http"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// siteJSON is the Site representation (API.md §4).
type siteJSON struct {
	ID             uuid.UUID      `json:"id"`
	UploadDatetime perf.Timestamp `json:"upload_datetime"`
	Name           string         `json:"name"`
	Address        string         `json:"address"`
	Description    *string        `json:"description,omitempty"`
}

func toSiteJSON(s perf.Site) siteJSON {
	return siteJSON{ID: s.ID, UploadDatetime: perf.Timestamp(s.UploadDatetime), Name: s.Name, Address: s.Address, Description: s.Description}
}

// siteFields is the body schema of CreateSite and UpdateSite.
var siteFields = []field{
	{name: "name", kind: kindString, required: true},
	{name: "address", kind: kindString, required: true},
	{name: "description", kind: kindString},
}

// siteUpdateFields is the body schema of UpdateSite: the writable fields
// and the representation's read-only members (API.md §13.1 item 12).
var siteUpdateFields = withEcho(siteFields, echoID, echoUploaded)

// handleSiteList handles GET /sites.
func (s *server) handleSiteList(w http.ResponseWriter, r *http.Request) error {
	q, f, p := catalogQuery(r, false, "name", "address")
	return listed(w, q, "site", "+name", func(sort []perf.SortKey) (perf.List[perf.Site], error) {
		return s.store.ListSites(r.Context(), f, sort, p)
	}, toSiteJSON)
}

// handleSiteSearch handles GET /sites:search.
func (s *server) handleSiteSearch(w http.ResponseWriter, r *http.Request) error {
	q, f, p := catalogQuery(r, true)
	return listed(w, q, "site", "", func(sort []perf.SortKey) (perf.List[perf.Site], error) {
		return s.store.ListSites(r.Context(), f, sort, p)
	}, toSiteJSON)
}

// handleSiteGet handles GET /sites/{site_id}.
func (s *server) handleSiteGet(w http.ResponseWriter, r *http.Request) error {
	site, err := s.store.GetSite(r.Context(), pathUUID(r, "site_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSiteJSON(site))
	return nil
}

// handleSiteCreate handles POST /sites.
func (s *server) handleSiteCreate(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, siteFields...)
	if err != nil {
		return err
	}
	c := callerOf(r)
	site := perf.Site{ID: uuid.New(), UploadDatetime: perf.Now(), Status: perf.OnReview, Description: b.optStr("description"),
		Uploader: perf.Uploader{UploaderSub: c.Sub, UploaderIss: c.Iss}}
	site.Name, _ = b.str("name")
	site.Address, _ = b.str("address")
	rev, err := s.store.CreateSite(r.Context(), site)
	if err != nil {
		return err
	}
	s.notify(perf.MailSubmitted(rev.UploaderEmail, "site", site.ID.String()))
	writeJSON(w, http.StatusCreated, toSiteJSON(site))
	return nil
}

// handleSiteUpdate handles PUT /sites/{site_id}.
func (s *server) handleSiteUpdate(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, siteUpdateFields...)
	if err != nil {
		return err
	}
	id := pathUUID(r, "site_id")
	err = checkEcho(b, func() (stored, error) {
		site, err := s.store.GetSite(r.Context(), id)
		return stored{site.ID, site.UploadDatetime}, err
	})
	if err != nil {
		return err
	}
	name, _ := b.str("name")
	address, _ := b.str("address")
	if err := s.store.UpdateSite(r.Context(), id, name, address, b.optStr("description")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// handleSiteDelete handles DELETE /sites/{site_id}.
func (s *server) handleSiteDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteSite(r.Context(), pathUUID(r, "site_id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// handleSiteApprove handles POST /sites/{site_id}:approve.
func (s *server) handleSiteApprove(w http.ResponseWriter, r *http.Request) error {
	return s.review(w, r, pathUUID(r, "site_id"), "site", s.store.ApproveSite, perf.MailApproved)
}

// handleSiteReject handles POST /sites/{site_id}:reject.
func (s *server) handleSiteReject(w http.ResponseWriter, r *http.Request) error {
	return s.review(w, r, pathUUID(r, "site_id"), "site", s.store.RejectSite, perf.MailRejected)
}
