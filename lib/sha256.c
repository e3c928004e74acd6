/* sha256.c - not yet implemented. */
#include "internal.h"
