/* sam.c - not yet implemented. */
#include "internal.h"
#include "encoder.h"
