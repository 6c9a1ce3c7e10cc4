// The C interfaces the OpenBLAS backend calls: CBLAS for GEMM and LAPACKE for
// the linear-algebra routines. Debian ships LAPACKE as its own library.
#ifndef COPENBLAS_SHIM_H
#define COPENBLAS_SHIM_H
#include <cblas.h>
#include <lapacke.h>

// Declared by OpenBLAS's cblas.h on most builds; repeated here so the shim does
// not depend on the header version.
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);
char *openblas_get_config(void);
#endif
