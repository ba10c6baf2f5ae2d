/* kapi.h - the API table type lives with the server that dispatches it. */
#ifndef WEIR_KAPI_H
#define WEIR_KAPI_H
#include "kserver.h"
#endif
