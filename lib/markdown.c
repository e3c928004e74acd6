/* markdown.c - not yet implemented. */
#include "internal.h"
