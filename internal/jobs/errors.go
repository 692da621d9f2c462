package jobs

import (
	"fmt"

	"github.com/pfmsync/pfmsync/internal/pfm"
)

// errLinkGone is returned when a link or its token disappeared mid-sync
// (unlinked).
var errLinkGone = fmt.Errorf("link was unlinked: %w", pfm.ErrNotFound)
