#ifndef RSTORE_CBLAS_SHIM_H
#define RSTORE_CBLAS_SHIM_H
#include <cblas.h>
/* OpenBLAS extension: thread count control (declared in openblas_config via cblas.h). */
#endif
