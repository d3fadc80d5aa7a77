#ifndef RSTORE_CLZ4_SHIM_H
#define RSTORE_CLZ4_SHIM_H
#include <lz4.h>
#endif
