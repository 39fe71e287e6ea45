package sim

import "net/http"

// serveOllama serves the Ollama native protocol. Not implemented yet.
func (s *Server) serveOllama(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotImplemented, "not_implemented", "Ollama native protocol is not implemented yet")
}
