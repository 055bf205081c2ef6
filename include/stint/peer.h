/* Moved to src/peer/peer.h (peer-only). */
#include "../../src/peer/peer.h"
