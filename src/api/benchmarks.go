package api

import (
	"encoding/json"
	"net/http"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/schema"
	"github.com/google/uuid"
)

// benchmarkJSON is the Benchmark representation (API.md §4).
type benchmarkJSON struct {
	ID             uuid.UUID       `json:"id"`
	UploadDatetime perf.Timestamp  `json:"upload_datetime"`
	DockerImage    string          `json:"docker_image"`
	DockerTag      string          `json:"docker_tag"`
	URL            string          `json:"url"`
	JSONSchema     json.RawMessage `json:"json_schema"`
	Description    *string         `json:"description,omitempty"`
}

func toBenchmarkJSON(b perf.Benchmark) benchmarkJSON {
	return benchmarkJSON{ID: b.ID, UploadDatetime: perf.Timestamp(b.UploadDatetime), DockerImage: b.DockerImage,
		DockerTag: b.DockerTag, URL: b.URL, JSONSchema: b.JSONSchema, Description: b.Description}
}

// benchmarkFields is the body schema of CreateBenchmark and UpdateBenchmark.
var benchmarkFields = []field{
	{name: "docker_image", kind: kindString, required: true},
	{name: "docker_tag", kind: kindString, required: true},
	{name: "url", kind: kindString, required: true},
	{name: "json_schema", kind: kindObject, required: true},
	{name: "description", kind: kindString},
}

// benchmarkUpdateFields is the body schema of UpdateBenchmark: the
// writable fields and the representation's read-only members (API.md §13.1
// item 12).
var benchmarkUpdateFields = withEcho(benchmarkFields, echoID, echoUploaded)

// handleBenchmarkList handles GET /benchmarks.
func (s *server) handleBenchmarkList(w http.ResponseWriter, r *http.Request) error {
	q, f, p := catalogQuery(r, false, "docker_image", "docker_tag")
	return listed(w, q, "benchmark", "+docker_image", func(sort []perf.SortKey) (perf.List[perf.Benchmark], error) {
		return s.store.ListBenchmarks(r.Context(), f, sort, p)
	}, toBenchmarkJSON)
}

// handleBenchmarkSearch handles GET /benchmarks:search.
func (s *server) handleBenchmarkSearch(w http.ResponseWriter, r *http.Request) error {
	q, f, p := catalogQuery(r, true)
	return listed(w, q, "benchmark", "", func(sort []perf.SortKey) (perf.List[perf.Benchmark], error) {
		return s.store.ListBenchmarks(r.Context(), f, sort, p)
	}, toBenchmarkJSON)
}

// handleBenchmarkGet handles GET /benchmarks/{benchmark_id}.
func (s *server) handleBenchmarkGet(w http.ResponseWriter, r *http.Request) error {
	if err := strictQuery(r); err != nil {
		return err
	}
	b, err := s.store.GetBenchmark(r.Context(), pathUUID(r, "benchmark_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toBenchmarkJSON(b))
	return nil
}

// benchmarkInput decodes and checks a benchmark body: the body schema,
// then (on PUT) the echoed read-only members, then the container image
// (API.md §8.4), then the JSON Schema (§8.1; also on PUT, where upstream
// forgot it).
func (s *server) benchmarkInput(r *http.Request, fields []field, echo func(body) error) (perf.Benchmark, error) {
	b, err := decodeBody(r, fields...)
	if err != nil {
		return perf.Benchmark{}, err
	}
	if echo != nil {
		if err := echo(b); err != nil {
			return perf.Benchmark{}, err
		}
	}
	var bm perf.Benchmark
	bm.DockerImage, _ = b.str("docker_image")
	bm.DockerTag, _ = b.str("docker_tag")
	bm.URL, _ = b.str("url")
	bm.JSONSchema = b["json_schema"]
	bm.Description = b.optStr("description")
	if err := checkSchemaShape(&s.opt.Limits, bm.JSONSchema); err != nil {
		return bm, err
	}
	if s.opt.Images != nil {
		if err := s.opt.Images.Check(r.Context(), bm.DockerImage, bm.DockerTag); err != nil {
			return bm, err
		}
	}
	if err := r.Context().Err(); err != nil {
		return bm, &perf.Error{Kind: perf.Unavailable, Err: err} // the client left
	}
	if err := schema.CheckBenchmarkSchema(bm.JSONSchema); err != nil {
		return bm, err
	}
	return bm, nil
}

// handleBenchmarkCreate handles POST /benchmarks: the benchmark waits for
// review; the uploader is told (cc support).
func (s *server) handleBenchmarkCreate(w http.ResponseWriter, r *http.Request) error {
	bm, err := s.benchmarkInput(r, benchmarkFields, nil)
	if err != nil {
		return err
	}
	c := callerOf(r)
	bm.ID, bm.UploadDatetime, bm.Status = uuid.New(), perf.Now(), perf.OnReview
	bm.UploaderSub, bm.UploaderIss = c.Sub, c.Iss
	rev, err := s.store.CreateBenchmark(r.Context(), bm)
	if err != nil {
		return err
	}
	s.notify(perf.MailSubmitted(rev.UploaderEmail, "benchmark", bm.ID.String()))
	writeJSON(w, http.StatusCreated, toBenchmarkJSON(bm))
	return nil
}

// handleBenchmarkUpdate handles PUT /benchmarks/{benchmark_id}.
func (s *server) handleBenchmarkUpdate(w http.ResponseWriter, r *http.Request) error {
	id := pathUUID(r, "benchmark_id")
	bm, err := s.benchmarkInput(r, benchmarkUpdateFields, func(b body) error {
		return checkEcho(b, func() (stored, error) {
			cur, err := s.store.GetBenchmark(r.Context(), id)
			return stored{cur.ID, cur.UploadDatetime}, err
		})
	})
	if err != nil {
		return err
	}
	if err := s.store.UpdateBenchmark(r.Context(), id, bm.DockerImage, bm.DockerTag, bm.URL, bm.JSONSchema, bm.Description); err != nil {
		return err
	}
	s.dropSchema(id)
	noContent(w)
	return nil
}

// handleBenchmarkDelete handles DELETE /benchmarks/{benchmark_id}.
func (s *server) handleBenchmarkDelete(w http.ResponseWriter, r *http.Request) error {
	if err := strictQuery(r); err != nil {
		return err
	}
	id := pathUUID(r, "benchmark_id")
	if err := s.store.DeleteBenchmark(r.Context(), id); err != nil {
		return err
	}
	s.dropSchema(id)
	noContent(w)
	return nil
}

// handleBenchmarkApprove handles POST /benchmarks/{benchmark_id}:approve.
func (s *server) handleBenchmarkApprove(w http.ResponseWriter, r *http.Request) error {
	if err := strictQuery(r); err != nil {
		return err
	}
	return s.review(w, r, pathUUID(r, "benchmark_id"), "benchmark", s.store.ApproveBenchmark, perf.MailApproved)
}

// handleBenchmarkReject handles POST /benchmarks/{benchmark_id}:reject.
func (s *server) handleBenchmarkReject(w http.ResponseWriter, r *http.Request) error {
	if err := strictQuery(r); err != nil {
		return err
	}
	id := pathUUID(r, "benchmark_id")
	defer s.dropSchema(id)
	return s.review(w, r, id, "benchmark", s.store.RejectBenchmark, perf.MailRejected)
}

// dropSchema forgets a benchmark's compiled schema after it changed.
func (s *server) dropSchema(id uuid.UUID) {
	if s.opt.Schemas != nil {
		s.opt.Schemas.Drop(id)
	}
}
