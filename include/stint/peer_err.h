/* Moved to src/peer/err.h (peer-only). */
#include "../../src/peer/err.h"
