// The portable kernel: plain C over the packed layout, on every platform.
//
// The same integer sums and float outputs as the x86 kernels, bit for bit:
// each u8 × s8 product (at most 255 · 127 in magnitude) and every partial sum
// fit in int32 (see CInt8GEMM.h), so accumulation is exact in any order, and
// the epilogue and the rounding come from Int8Kernels.h.

#include "Int8Kernels.h"

#include <string.h>

#pragma STDC FP_CONTRACT OFF

void cint8_portable_multiply(
    const uint8_t *packed_activations, ptrdiff_t rows, const int8_t *packed_weights,
    ptrdiff_t columns, ptrdiff_t depth, const CInt8Output *output) {
  const ptrdiff_t steps = cint8_steps(depth);
  const ptrdiff_t mr = CINT8_TILE_ROWS;
  const ptrdiff_t nr = CINT8_TILE_COLUMNS;
  const ptrdiff_t step = CINT8_DEPTH_STEP;
  for (ptrdiff_t j0 = 0; j0 < columns; j0 += nr) {
    const int8_t *panel = packed_weights + (j0 / nr) * cint8_panel_bytes(depth);  // [steps, 16, 4]
    ptrdiff_t tile_columns = columns - j0 < nr ? columns - j0 : nr;
    for (ptrdiff_t i0 = 0; i0 < rows; i0 += mr) {
      const uint8_t *sliver =
          packed_activations + (i0 / mr) * cint8_sliver_bytes(depth);  // [steps, 4, 4]
      ptrdiff_t tile_rows = rows - i0 < mr ? rows - i0 : mr;
      int32_t tile[CINT8_TILE_ROWS][CINT8_TILE_COLUMNS];
      memset(tile, 0, sizeof tile);
      for (ptrdiff_t s = 0; s < steps; s++) {
        const uint8_t *a = sliver + s * mr * step;
        const int8_t *b = panel + s * nr * step;
        for (ptrdiff_t r = 0; r < mr; r++) {
          int32_t a0 = a[r * step], a1 = a[r * step + 1], a2 = a[r * step + 2],
                  a3 = a[r * step + 3];
          for (ptrdiff_t c = 0; c < nr; c++) {
            tile[r][c] += a0 * b[c * step] + a1 * b[c * step + 1] + a2 * b[c * step + 2]
                          + a3 * b[c * step + 3];
          }
        }
      }
      cint8_finish_tile(tile, tile_rows, tile_columns, output, i0, j0, 0);
    }
  }
}

void cint8_portable_quantize_rows(
    const float *x, ptrdiff_t stride, ptrdiff_t rows, ptrdiff_t depth, uint8_t *packed,
    float *scales, int32_t *zero_points) {
  memset(packed, 0, cint8_packed_activations_size(rows, depth));
  for (ptrdiff_t i = 0; i < rows; i++) {
    const float *row = x + i * stride;
    float lo = 0, hi = 0, poison = 0;
    for (ptrdiff_t k = 0; k < depth; k++) {
      float v = row[k];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
      poison += v * 0.0f;  // NaN once any value is NaN or infinite
    }
    float scale, inverse;
    int32_t zero_point;
    cint8_row_parameters(lo, hi, poison == 0, &scale, &inverse, &zero_point);
    scales[i] = scale;
    zero_points[i] = zero_point;
    if (inverse == 0) continue;  // all zeros (already written), or a non-finite row
    for (ptrdiff_t k = 0; k < depth; k++) {
      packed[cint8_activation_offset(i, k, depth)] =
          cint8_quantize_value(row[k], inverse, zero_point);
    }
  }
}
