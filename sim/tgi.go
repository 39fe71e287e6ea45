package sim

import "net/http"

// serveTGI serves the TGI native protocol. Not implemented yet.
func (s *Server) serveTGI(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotImplemented, "not_implemented", "TGI native protocol is not implemented yet")
}
