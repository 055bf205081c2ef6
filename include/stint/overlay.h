/* Moved to src/peer/overlay.h (peer-only). */
#include "../../src/peer/overlay.h"
