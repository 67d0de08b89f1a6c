#ifndef FOCUS_CBLAS_SHIM_H
#define FOCUS_CBLAS_SHIM_H
#include <cblas.h>
/* OpenBLAS extensions; declared here because some cblas.h builds hide them. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif
