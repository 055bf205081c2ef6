/* Moved to src/peer/handoff.h (peer-only). */
#include "../../src/peer/handoff.h"
