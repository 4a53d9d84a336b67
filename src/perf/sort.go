package perf

// SortFields lists, per resource, the names sort_by accepts (API.md §3.5).
// Results additionally accept json.<path>. The store maps each name to an
// SQL expression; a test there keeps both lists in step.
var SortFields = map[string][]string{
	"benchmark": {"id", "docker_image", "docker_tag", "url", "json_schema", "description", "upload_datetime", "status", "uploader_sub", "uploader_iss", "name"},
	"site":      {"id", "name", "address", "description", "upload_datetime", "status", "uploader_sub", "uploader_iss"},
	"flavor":    {"id", "name", "description", "site_id", "upload_datetime", "status", "uploader_sub", "uploader_iss"},
	"tag":       {"id", "name", "description"},
	"result":    {"id", "json", "execution_datetime", "upload_datetime", "benchmark_id", "benchmark_name", "flavor_id", "flavor_name", "site_id", "site_name", "site_address", "deleted", "uploader_sub", "uploader_iss"},
	"claim":     {"id", "message", "status", "resource_type", "upload_datetime", "uploader_sub", "uploader_iss"},
	"submit":    {"id", "resource_type", "upload_datetime"},
	"user":      {"sub", "iss", "email", "registration_datetime"},
}
