/* Moved to src/peer/mountpoint.h (peer-only). */
#include "../../src/peer/mountpoint.h"
