// cblas_sgemm called directly from C, at the shapes of `bert-bench gemm`, so
// that the cost of going through the Swift API can be read off side by side.
//
// Build and run (see README.md):
//   gcc -O2 -o sgemm_bench sgemm_bench.c $(pkg-config --cflags --libs openblas)
//   ./sgemm_bench [--cpu-time] [threads...]        (default: 1 2)
//
// --cpu-time times each call by the process's CPU time instead of the wall
// clock, as `bert-bench gemm --cpu-time` does, for a machine shared with other work.

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void) {
  struct timespec t;
  clock_gettime(clock_id, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

// GFLOP/s of C[m, n] = A[m, k] · op(B): two warm-up calls, then the median of
// repeats within half a second (at least 3, at most 50), as the Swift benchmark does.
static double measure(int m, int n, int k, int transposeB) {
  float *a = malloc(sizeof(float) * m * k);
  float *b = malloc(sizeof(float) * k * n);
  float *c = malloc(sizeof(float) * m * n);
  unsigned state = 7;
  for (long i = 0; i < (long)m * k; i++) a[i] = (state = state * 1664525u + 1013904223u) / 4294967296.0f;
  for (long i = 0; i < (long)k * n; i++) b[i] = (state = state * 1664525u + 1013904223u) / 4294967296.0f;
  int ldb = transposeB ? k : n;
  enum CBLAS_TRANSPOSE tb = transposeB ? CblasTrans : CblasNoTrans;
  double seconds[50];
  int count = 0;
  double total = 0;
  for (int i = 0; i < 2; i++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1, a, k, b, ldb, 0, c, n);
  while (count < 3 || (total < 0.5 && count < 50)) {
    double start = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1, a, k, b, ldb, 0, c, n);
    seconds[count] = now() - start;
    total += seconds[count++];
  }
  qsort(seconds, count, sizeof(double), compare);
  free(a);
  free(b);
  free(c);
  return 2.0 * m * n * k / seconds[count / 2] / 1e9;
}

int main(int argc, char **argv) {
  int shapes[][3] = {
    {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048},
    {128, 768, 768},   {128, 3072, 768},   {128, 768, 3072},
    {1024, 768, 768},  {1024, 3072, 768},  {1024, 768, 3072},
  };
  int threads[8] = {1, 2};
  int threadCount = 2;
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--cpu-time") == 0) {
    clock_id = CLOCK_PROCESS_CPUTIME_ID;
    first = 2;
  }
  if (argc > first) {
    threadCount = argc - first < 8 ? argc - first : 8;
    for (int i = 0; i < threadCount; i++) threads[i] = atoi(argv[first + i]);
  }
  printf("cblas_sgemm from C, OpenBLAS core %s, GFLOP/s (median, %s)\n", openblas_get_corename(),
         clock_id == CLOCK_MONOTONIC ? "wall clock" : "process CPU time");
  printf("%-18s%-4s%-4s%10s\n", "shape m×n×k", "op", "thr", "openblas");
  for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    for (int transposeB = 0; transposeB <= 1; transposeB++) {
      for (int t = 0; t < threadCount; t++) {
        openblas_set_num_threads(threads[t]);
        char name[32];
        snprintf(name, sizeof name, "%d×%d×%d", shapes[s][0], shapes[s][1], shapes[s][2]);
        printf("%-18s%-4s%-4d%10.1f\n", name, transposeB ? "NT" : "NN", threads[t],
               measure(shapes[s][0], shapes[s][1], shapes[s][2], transposeB));
        fflush(stdout);
      }
    }
  }
  return 0;
}
