/* Moved to src/peer/ns.h (peer-only). */
#include "../../src/peer/ns.h"
