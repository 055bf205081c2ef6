/* Moved to src/peer/carry.h (peer-only). */
#include "../../src/peer/carry.h"
