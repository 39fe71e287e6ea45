package sim

import "net/http"

// serveSageMaker serves the SageMaker runtime protocol. Not implemented yet.
func (s *Server) serveSageMaker(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotImplemented, "not_implemented", "SageMaker runtime protocol is not implemented yet")
}
