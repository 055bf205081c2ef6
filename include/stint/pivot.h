/* Moved to src/peer/pivot.h (peer-only). */
#include "../../src/peer/pivot.h"
