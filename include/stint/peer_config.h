/* Moved to src/peer/peer_config.h (peer-only). */
#include "../../src/peer/peer_config.h"
