// What the portable and x86 kernels share: the packed layout's offsets, the
// per-row quantization parameters, the rounding, and the scalar epilogue.
// Each is defined once here, so that every kernel agrees bit for bit.

#ifndef CINT8GEMM_KERNELS_H
#define CINT8GEMM_KERNELS_H

#include "include/CInt8GEMM.h"

#include <math.h>

#pragma STDC FP_CONTRACT OFF

/// K rounded up to whole steps of CINT8_DEPTH_STEP, in steps.
static inline ptrdiff_t cint8_steps(ptrdiff_t depth) {
  return (depth + CINT8_DEPTH_STEP - 1) / CINT8_DEPTH_STEP;
}

/// Bytes of one packed activation sliver: steps × (4 rows × 4 k).
static inline ptrdiff_t cint8_sliver_bytes(ptrdiff_t depth) {
  return cint8_steps(depth) * CINT8_TILE_ROWS * CINT8_DEPTH_STEP;
}

/// Bytes of one packed weight panel: steps × (16 columns × 4 k).
static inline ptrdiff_t cint8_panel_bytes(ptrdiff_t depth) {
  return cint8_steps(depth) * CINT8_TILE_COLUMNS * CINT8_DEPTH_STEP;
}

/// The offset of A[row, k] in packed activations.
static inline ptrdiff_t cint8_activation_offset(ptrdiff_t row, ptrdiff_t k, ptrdiff_t depth) {
  return (row / CINT8_TILE_ROWS) * cint8_sliver_bytes(depth)
         + (k / CINT8_DEPTH_STEP) * (CINT8_TILE_ROWS * CINT8_DEPTH_STEP)
         + (row % CINT8_TILE_ROWS) * CINT8_DEPTH_STEP + k % CINT8_DEPTH_STEP;
}

/// The offset of W[column, k] in packed weights.
static inline ptrdiff_t cint8_weight_offset(ptrdiff_t column, ptrdiff_t k, ptrdiff_t depth) {
  return (column / CINT8_TILE_COLUMNS) * cint8_panel_bytes(depth)
         + (k / CINT8_DEPTH_STEP) * (CINT8_TILE_COLUMNS * CINT8_DEPTH_STEP)
         + (column % CINT8_TILE_COLUMNS) * CINT8_DEPTH_STEP + k % CINT8_DEPTH_STEP;
}

/// v rounded to the nearest integer, ties to even, for |v| < 2²²: adding and
/// subtracting 1.5·2²³ leaves no fraction bits, so the addition rounds as the
/// FPU's default mode does (the same result as cvtps2dq).
static inline float cint8_round(float v) {
  const float shift = 12582912.0f;  // 1.5 · 2²³
  float shifted = v + shift;
  return shifted - shift;
}

/// One row's quantization parameters from its smallest and largest values.
/// `finite` is 0 when the row holds NaN or ±infinity.
static inline void cint8_row_parameters(
    float lo, float hi, int finite, float *scale, float *inverse, int32_t *zero_point) {
  lo = lo < 0 ? lo : 0;
  hi = hi > 0 ? hi : 0;
  float range = hi - lo;
  if (!finite) {
    *scale = NAN;
    *inverse = 0;
    *zero_point = 0;
  } else if (!(range >= CINT8_MINIMUM_RANGE)) {
    *scale = 0;
    *inverse = 0;
    *zero_point = 0;
  } else {
    *scale = range / (float)CINT8_ACTIVATION_MAX;
    *inverse = (float)CINT8_ACTIVATION_MAX / range;
    float z = cint8_round(-lo * *inverse);
    *zero_point = z < 0 ? 0 : z > CINT8_ACTIVATION_MAX ? CINT8_ACTIVATION_MAX : (int32_t)z;
  }
}

/// One activation: clamp(round(x · inverse) + z, 0, 255).
static inline uint8_t cint8_quantize_value(float x, float inverse, int32_t zero_point) {
  int32_t q = (int32_t)cint8_round(x * inverse) + zero_point;
  return (uint8_t)(q < 0 ? 0 : q > CINT8_ACTIVATION_MAX ? CINT8_ACTIVATION_MAX : q);
}

/// The zero point a kernel's raw sums need subtracted, z − shift: the raw sums
/// are over (A − shift) · W, so C = raw − (z − shift) · Σ_k W (see CInt8GEMM.h).
static inline int32_t cint8_correction(const CInt8Output *output, ptrdiff_t row, int32_t shift) {
  return (output->zero_points ? output->zero_points[row] : 0) - shift;
}

/// The epilogue of one tile of raw sums over (A − shift) · W, element by
/// element: the zero-point correction, then either the int32 store or the
/// float dequantization and bias. `first_row` and `first_column` place the
/// tile in the block.
static inline void cint8_finish_tile(
    const int32_t tile[CINT8_TILE_ROWS][CINT8_TILE_COLUMNS], ptrdiff_t rows, ptrdiff_t columns,
    const CInt8Output *output, ptrdiff_t first_row, ptrdiff_t first_column, int32_t shift) {
  for (ptrdiff_t r = 0; r < rows; r++) {
    ptrdiff_t i = first_row + r;
    int32_t zero_point = cint8_correction(output, i, shift);
    for (ptrdiff_t c = 0; c < columns; c++) {
      ptrdiff_t j = first_column + c;
      int32_t sum = tile[r][c];
      if (zero_point != 0) sum -= zero_point * output->column_sums[j];
      if (output->sums) {
        output->sums[i * output->stride + j] = sum;
      } else {
        float scale = output->row_scales[i] * output->column_scales[j];
        float value = (float)sum * scale;
        if (output->bias) value = value + output->bias[j];
        output->values[i * output->stride + j] = value;
      }
    }
  }
}

void cint8_portable_multiply(
    const uint8_t *packed_activations, ptrdiff_t rows, const int8_t *packed_weights,
    ptrdiff_t columns, ptrdiff_t depth, const CInt8Output *output);
void cint8_portable_quantize_rows(
    const float *x, ptrdiff_t stride, ptrdiff_t rows, ptrdiff_t depth, uint8_t *packed,
    float *scales, int32_t *zero_points);

#if defined(__x86_64__)
void cint8_avx2_multiply(
    const uint8_t *packed_activations, ptrdiff_t rows, const int8_t *packed_weights,
    ptrdiff_t columns, ptrdiff_t depth, const CInt8Output *output);
void cint8_avxvnni_multiply(
    const uint8_t *packed_activations, ptrdiff_t rows, const int8_t *packed_weights,
    ptrdiff_t columns, ptrdiff_t depth, const CInt8Output *output);
void cint8_avx512vnni_multiply(
    const uint8_t *packed_activations, ptrdiff_t rows, const int8_t *packed_weights,
    ptrdiff_t columns, ptrdiff_t depth, const CInt8Output *output);
void cint8_avx2_quantize_rows(
    const float *x, ptrdiff_t stride, ptrdiff_t rows, ptrdiff_t depth, uint8_t *packed,
    float *scales, int32_t *zero_points);
#endif

#endif
