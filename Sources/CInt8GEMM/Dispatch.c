// Kernel choice at run time, and the packing of weights and activations.

#include "Int8Kernels.h"

#include <string.h>

int cint8_kernel_is_available(int kernel) {
  switch (kernel) {
    case CINT8_KERNEL_PORTABLE:
      return 1;
    case CINT8_KERNEL_AVX2:
#if defined(__x86_64__)
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
      return 0;
#endif
    case CINT8_KERNEL_AVXVNNI:
#if defined(__x86_64__)
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
             && __builtin_cpu_supports("avxvnni");
#else
      return 0;
#endif
    case CINT8_KERNEL_AVX512VNNI:
#if defined(__x86_64__)
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
             && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
             && __builtin_cpu_supports("avx512vnni");
#else
      return 0;
#endif
    default:
      return 0;
  }
}

void cint8_multiply(
    int kernel, const uint8_t *packed_activations, ptrdiff_t rows, const int8_t *packed_weights,
    ptrdiff_t columns, ptrdiff_t depth, const CInt8Output *output) {
  (void)kernel;  // only the portable kernel exists off x86_64
#if defined(__x86_64__)
  if (kernel == CINT8_KERNEL_AVX2) {
    cint8_avx2_multiply(packed_activations, rows, packed_weights, columns, depth, output);
    return;
  }
  if (kernel == CINT8_KERNEL_AVXVNNI) {
    cint8_avxvnni_multiply(packed_activations, rows, packed_weights, columns, depth, output);
    return;
  }
  if (kernel == CINT8_KERNEL_AVX512VNNI) {
    cint8_avx512vnni_multiply(packed_activations, rows, packed_weights, columns, depth, output);
    return;
  }
#endif
  cint8_portable_multiply(packed_activations, rows, packed_weights, columns, depth, output);
}

void cint8_quantize_rows(
    int kernel, const float *x, ptrdiff_t stride, ptrdiff_t rows, ptrdiff_t depth,
    uint8_t *packed, float *scales, int32_t *zero_points) {
  (void)kernel;
#if defined(__x86_64__)
  if (kernel == CINT8_KERNEL_AVX2 || kernel == CINT8_KERNEL_AVXVNNI
      || kernel == CINT8_KERNEL_AVX512VNNI) {
    cint8_avx2_quantize_rows(x, stride, rows, depth, packed, scales, zero_points);
    return;
  }
#endif
  cint8_portable_quantize_rows(x, stride, rows, depth, packed, scales, zero_points);
}

// MARK: - Packing

size_t cint8_packed_weights_size(ptrdiff_t columns, ptrdiff_t depth) {
  ptrdiff_t panels = (columns + CINT8_TILE_COLUMNS - 1) / CINT8_TILE_COLUMNS;
  return (size_t)(panels * cint8_panel_bytes(depth));
}

void cint8_pack_weights(
    const int8_t *weights, ptrdiff_t stride, ptrdiff_t columns, ptrdiff_t depth, int8_t *packed) {
  memset(packed, 0, cint8_packed_weights_size(columns, depth));
  for (ptrdiff_t j = 0; j < columns; j++) {
    for (ptrdiff_t k = 0; k < depth; k++) {
      packed[cint8_weight_offset(j, k, depth)] = weights[j * stride + k];
    }
  }
}

void cint8_unpack_weights(
    const int8_t *packed, ptrdiff_t columns, ptrdiff_t depth, int8_t *weights, ptrdiff_t stride) {
  for (ptrdiff_t j = 0; j < columns; j++) {
    for (ptrdiff_t k = 0; k < depth; k++) {
      weights[j * stride + k] = packed[cint8_weight_offset(j, k, depth)];
    }
  }
}

size_t cint8_packed_activations_size(ptrdiff_t rows, ptrdiff_t depth) {
  ptrdiff_t slivers = (rows + CINT8_TILE_ROWS - 1) / CINT8_TILE_ROWS;
  return (size_t)(slivers * cint8_sliver_bytes(depth));
}

void cint8_pack_activations(
    const uint8_t *activations, ptrdiff_t stride, ptrdiff_t rows, ptrdiff_t depth,
    uint8_t *packed) {
  memset(packed, 0, cint8_packed_activations_size(rows, depth));
  for (ptrdiff_t i = 0; i < rows; i++) {
    for (ptrdiff_t k = 0; k < depth; k++) {
      packed[cint8_activation_offset(i, k, depth)] = activations[i * stride + k];
    }
  }
}

void cint8_unpack_activations(
    const uint8_t *packed, ptrdiff_t rows, ptrdiff_t depth, uint8_t *activations,
    ptrdiff_t stride) {
  for (ptrdiff_t i = 0; i < rows; i++) {
    for (ptrdiff_t k = 0; k < depth; k++) {
      activations[i * stride + k] = packed[cint8_activation_offset(i, k, depth)];
    }
  }
}
