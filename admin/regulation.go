package admin

import (
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// regulationTemplates answers GET /v1/regulation-templates: the templates
// the platform ships, every version (one page: the set is small and the
// same for everyone, so the route is public like the API description).
func (s *Server) regulationTemplates(w http.ResponseWriter, _ *request) error {
	writeJSON(w, http.StatusOK, listPage[tenancy.RegulationTemplate]{Items: tenancy.RegulationTemplates()})
	return nil
}
