/* Moved to src/peer/mountinfo.h (peer-only). */
#include "../../src/peer/mountinfo.h"
