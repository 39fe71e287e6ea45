package sim

import "net/http"

// serveBedrock serves the Bedrock runtime protocol. Not implemented yet.
func (s *Server) serveBedrock(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotImplemented, "not_implemented", "Bedrock runtime protocol is not implemented yet")
}
