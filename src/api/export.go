package api

// GET /results:export (EXTENSIONS.md X3): NDJSON or CSV, streamed from one
// snapshot in constant memory.

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/rs/zerolog/hlog"

	"github.com/eosc-perf/api/src/perf"
)

// exportFlushBytes is how much is buffered before it is sent on.
const exportFlushBytes = 32 << 10

// csvFixedColumns are the first columns of a CSV export.
var csvFixedColumns = []string{"id", "upload_datetime", "execution_datetime", "benchmark_id", "benchmark",
	"site_id", "site", "flavor_id", "flavor", "tags"}

// maxExportColumns bounds the repeatable columns parameter.
const maxExportColumns = 100

// handleResultExport handles GET /results:export.
func (s *server) handleResultExport(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, append([]string{"format", "columns", "sort_by"}, resultFilterParams...)...)
	format := "ndjson"
	if v := q.str("format"); v != nil {
		format = *v
		if format != "ndjson" && format != "csv" {
			q.errs["format"] = []string{"Must be one of: ndjson, csv."}
		}
	}
	var columns [][]string
	names := q.list("columns")
	switch {
	case len(names) > 0 && format != "csv":
		q.errs["columns"] = []string{"Only for format csv."}
	case len(names) > maxExportColumns:
		q.errs["columns"] = []string{"At most " + itoa(maxExportColumns) + " columns."}
	default:
		for _, n := range names {
			columns = append(columns, metricPath(q, "columns", n))
		}
	}
	f, _, err := resultFilter(q)
	if err != nil {
		return err
	}
	sort, err := q.sortBy("result", "+execution_datetime", true)
	if err != nil {
		return err
	}
	max := s.opt.ExportMaxRows
	if max <= 0 {
		max = DefaultExportMaxRows
	}
	bw := bufio.NewWriterSize(flushWriter{w}, exportFlushBytes)
	var emit func(perf.Result, []string) error
	var cw *csv.Writer
	start := func(int) error {
		h := w.Header()
		if format == "csv" {
			h.Set("Content-Type", "text/csv; charset=utf-8")
		} else {
			h.Set("Content-Type", "application/x-ndjson")
		}
		h.Set("Content-Disposition", `attachment; filename="results.`+format+`"`)
		w.WriteHeader(http.StatusOK)
		if format == "csv" {
			cw = csv.NewWriter(bw)
			cw.UseCRLF = true // RFC 4180
			return cw.Write(append(append([]string{}, csvFixedColumns...), names...))
		}
		return nil
	}
	var line []byte
	sent, total := 0, 0
	if format == "csv" {
		emit = func(res perf.Result, cells []string) error {
			sent++
			return clientError(cw.Write(csvRecord(res, cells)))
		}
	} else {
		emit = func(res perf.Result, _ []string) error {
			sent++
			line = append(appendResult(line[:0], res), '\n')
			_, err := bw.Write(line)
			return clientError(err)
		}
	}
	started := false
	err = s.store.ExportResults(r.Context(), f, sort, columns, max, func(n int) error {
		started, total = true, n
		return start(n)
	}, emit)
	if err == nil {
		if cw != nil {
			cw.Flush()
			err = clientError(cw.Error())
		}
		if err == nil {
			err = clientError(bw.Flush())
		}
	}
	if err != nil && started {
		// The status is sent: a failure now can only cut the stream short.
		log := hlog.FromRequest(r)
		var gone errClientGone
		if errors.As(err, &gone) || r.Context().Err() != nil {
			// The client went away: the cursor and transaction are gone
			// with ExportResults' return; nobody is left to answer.
			log.Info().Int("rows_sent", sent).Int("rows_total", total).Msg("export stopped: client went away")
			return nil
		}
		// Abort the connection so the client cannot take a truncated file
		// for a whole one.
		log.Error().Err(err).Int("rows_sent", sent).Int("rows_total", total).Msg("export failed mid-stream")
		panic(http.ErrAbortHandler)
	}
	return err
}

// errClientGone marks a failure to write to the client.
type errClientGone struct{ error }

func (e errClientGone) Unwrap() error { return e.error }

func clientError(err error) error {
	if err == nil {
		return nil
	}
	return errClientGone{err}
}

// DefaultExportMaxRows is EXPORT_MAX_ROWS's default.
const DefaultExportMaxRows = 1_000_000

// flushWriter sends each buffered chunk on at once, so a streamed export
// reaches the client while it is produced.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = http.NewResponseController(f.w).Flush()
		if errors.Is(err, http.ErrNotSupported) {
			err = nil
		}
	}
	return n, err
}

// csvRecord renders one result and its column cells as a CSV row, every
// cell guarded.
func csvRecord(r perf.Result, cells []string) []string {
	rec := make([]string, 0, len(csvFixedColumns)+len(cells))
	rec = append(rec, r.ID.String(), perf.FormatTime(r.UploadDatetime), perf.FormatTime(r.ExecutionDatetime),
		r.Benchmark.ID.String(), r.Benchmark.DockerImage+":"+r.Benchmark.DockerTag,
		r.Site.ID.String(), r.Site.Name, r.Flavor.ID.String(), r.Flavor.Name, tagNames(r.TagsJSON))
	rec = append(rec, cells...)
	for i, c := range rec {
		rec[i] = csvSafe(c)
	}
	return rec
}

// csvSafe defuses formula injection: a cell a spreadsheet would read as a
// formula (starting with =, +, - or @) is prefixed with a single quote.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// tagNames joins the names of a rendered tag list with ";".
func tagNames(raw json.RawMessage) string {
	var tags []struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &tags) != nil {
		return ""
	}
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = t.Name
	}
	return strings.Join(names, ";")
}
