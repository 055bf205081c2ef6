/* Kept while the tree moves to stint/syscalls.h. */
#include "stint/syscalls.h"
