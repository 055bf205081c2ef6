/* Moved to src/peer/prepare.h (peer-only). */
#include "../../src/peer/prepare.h"
