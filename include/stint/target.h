/* Moved to src/peer/target.h (peer-only). */
#include "../../src/peer/target.h"
