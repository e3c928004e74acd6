/* generate.c - not yet implemented. */
#include "internal.h"
#include "decoder.h"
