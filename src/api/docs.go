package api

// docRoutes serves the OpenAPI document and Swagger UI (filled in when the
// openapi package lands).
func (s *server) docRoutes() []extraRoute { return nil }
