/* Moved to src/peer/notify.h (peer-only). */
#include "../../src/peer/notify.h"
