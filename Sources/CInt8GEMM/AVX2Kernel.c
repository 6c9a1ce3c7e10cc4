// The AVX2 kernel: a 4 × 16 register tile of int32 sums over u7 × s8 products.
//
// Each step of 4 k: one 32-bit broadcast of a row's 4 activations, and per
// 8 columns vpmaddubsw (4 rows × 16 pair sums of u8 × s8 into int16, which
// cannot saturate: see CInt8GEMM.h), vpmaddwd with ones (pairs into int32) and
// vpaddd into the accumulator. 8 accumulators, 2 weight vectors, the
// broadcast, the ones and a temporary fill 13 of the 16 ymm registers.
//
// Compiled for AVX2 with a target attribute, so the rest of the package needs
// no special flags; Dispatch.c calls it only when the CPU has AVX2.

#include "Int8Kernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

#define CINT8_AVX2 __attribute__((target("avx2,fma")))

/// The 4 activations of one row for one step, broadcast to every 32-bit lane.
CINT8_AVX2 static inline __m256i broadcast_step(const uint8_t *a) {
  int32_t word;
  memcpy(&word, a, sizeof word);
  return _mm256_set1_epi32(word);
}

/// acc += Σ over 4 k of a · b, per 32-bit lane.
CINT8_AVX2 static inline __m256i multiply_add(__m256i acc, __m256i a, __m256i b, __m256i ones) {
  __m256i pairs = _mm256_maddubs_epi16(a, b);  // int16: a0·b0 + a1·b1, a2·b2 + a3·b3
  return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
}

/// The epilogue of one row of a full tile: 16 sums, as cint8_finish_tile does it.
CINT8_AVX2 static inline void finish_row(
    __m256i low, __m256i high, const CInt8Output *output, ptrdiff_t i, ptrdiff_t j) {
  int32_t zero_point = output->zero_points ? output->zero_points[i] : 0;
  if (zero_point != 0) {
    __m256i z = _mm256_set1_epi32(zero_point);
    const __m256i *sums = (const __m256i *)(output->column_sums + j);
    low = _mm256_sub_epi32(low, _mm256_mullo_epi32(z, _mm256_loadu_si256(sums)));
    high = _mm256_sub_epi32(high, _mm256_mullo_epi32(z, _mm256_loadu_si256(sums + 1)));
  }
  if (output->sums) {
    __m256i *target = (__m256i *)(output->sums + i * output->stride + j);
    _mm256_storeu_si256(target, low);
    _mm256_storeu_si256(target + 1, high);
    return;
  }
  __m256 row_scale = _mm256_set1_ps(output->row_scales[i]);
  __m256 scale_low = _mm256_mul_ps(row_scale, _mm256_loadu_ps(output->column_scales + j));
  __m256 scale_high = _mm256_mul_ps(row_scale, _mm256_loadu_ps(output->column_scales + j + 8));
  __m256 value_low = _mm256_mul_ps(_mm256_cvtepi32_ps(low), scale_low);
  __m256 value_high = _mm256_mul_ps(_mm256_cvtepi32_ps(high), scale_high);
  if (output->bias) {
    value_low = _mm256_add_ps(value_low, _mm256_loadu_ps(output->bias + j));
    value_high = _mm256_add_ps(value_high, _mm256_loadu_ps(output->bias + j + 8));
  }
  float *target = output->values + i * output->stride + j;
  _mm256_storeu_ps(target, value_low);
  _mm256_storeu_ps(target + 8, value_high);
}

CINT8_AVX2 void cint8_avx2_multiply(
    const uint8_t *packed_activations, ptrdiff_t rows, const int8_t *packed_weights,
    ptrdiff_t columns, ptrdiff_t depth, const CInt8Output *output) {
  const ptrdiff_t steps = cint8_steps(depth);
  const ptrdiff_t mr = CINT8_TILE_ROWS;
  const ptrdiff_t nr = CINT8_TILE_COLUMNS;
  const __m256i ones = _mm256_set1_epi16(1);
  for (ptrdiff_t j0 = 0; j0 < columns; j0 += nr) {
    const int8_t *panel = packed_weights + (j0 / nr) * cint8_panel_bytes(depth);  // [steps, 16, 4]
    ptrdiff_t tile_columns = columns - j0 < nr ? columns - j0 : nr;
    for (ptrdiff_t i0 = 0; i0 < rows; i0 += mr) {
      const uint8_t *a = packed_activations + (i0 / mr) * cint8_sliver_bytes(depth);  // [steps, 4, 4]
      const int8_t *b = panel;
      ptrdiff_t tile_rows = rows - i0 < mr ? rows - i0 : mr;
      __m256i c00 = _mm256_setzero_si256(), c01 = _mm256_setzero_si256();
      __m256i c10 = _mm256_setzero_si256(), c11 = _mm256_setzero_si256();
      __m256i c20 = _mm256_setzero_si256(), c21 = _mm256_setzero_si256();
      __m256i c30 = _mm256_setzero_si256(), c31 = _mm256_setzero_si256();
      for (ptrdiff_t s = 0; s < steps; s++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)b);         // columns 0…7 × 4 k
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 32));  // columns 8…15 × 4 k
        __m256i a0 = broadcast_step(a);
        c00 = multiply_add(c00, a0, b0, ones);
        c01 = multiply_add(c01, a0, b1, ones);
        __m256i a1 = broadcast_step(a + 4);
        c10 = multiply_add(c10, a1, b0, ones);
        c11 = multiply_add(c11, a1, b1, ones);
        __m256i a2 = broadcast_step(a + 8);
        c20 = multiply_add(c20, a2, b0, ones);
        c21 = multiply_add(c21, a2, b1, ones);
        __m256i a3 = broadcast_step(a + 12);
        c30 = multiply_add(c30, a3, b0, ones);
        c31 = multiply_add(c31, a3, b1, ones);
        a += mr * CINT8_DEPTH_STEP;
        b += nr * CINT8_DEPTH_STEP;
      }
      if (tile_rows == mr && tile_columns == nr) {
        finish_row(c00, c01, output, i0, j0);
        finish_row(c10, c11, output, i0 + 1, j0);
        finish_row(c20, c21, output, i0 + 2, j0);
        finish_row(c30, c31, output, i0 + 3, j0);
      } else {
        // An edge tile: finish only its valid part, element by element.
        int32_t tile[CINT8_TILE_ROWS][CINT8_TILE_COLUMNS];
        _mm256_storeu_si256((__m256i *)tile[0], c00);
        _mm256_storeu_si256((__m256i *)(tile[0] + 8), c01);
        _mm256_storeu_si256((__m256i *)tile[1], c10);
        _mm256_storeu_si256((__m256i *)(tile[1] + 8), c11);
        _mm256_storeu_si256((__m256i *)tile[2], c20);
        _mm256_storeu_si256((__m256i *)(tile[2] + 8), c21);
        _mm256_storeu_si256((__m256i *)tile[3], c30);
        _mm256_storeu_si256((__m256i *)(tile[3] + 8), c31);
        cint8_finish_tile(tile, tile_rows, tile_columns, output, i0, j0);
      }
    }
  }
}

// MARK: - Quantization

/// The smallest and largest of a row, and whether every value is finite.
CINT8_AVX2 static void row_range(
    const float *row, ptrdiff_t depth, float *lo_out, float *hi_out, int *finite) {
  __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps(), poison = _mm256_setzero_ps();
  const __m256 zero = _mm256_setzero_ps();
  ptrdiff_t k = 0;
  for (; k + 8 <= depth; k += 8) {
    __m256 v = _mm256_loadu_ps(row + k);
    lo = _mm256_min_ps(v, lo);
    hi = _mm256_max_ps(v, hi);
    poison = _mm256_add_ps(poison, _mm256_mul_ps(v, zero));  // NaN once any value is not finite
  }
  float los[8], his[8], poisons[8];
  _mm256_storeu_ps(los, lo);
  _mm256_storeu_ps(his, hi);
  _mm256_storeu_ps(poisons, poison);
  float l = 0, h = 0, p = 0;
  for (int lane = 0; lane < 8; lane++) {
    l = los[lane] < l ? los[lane] : l;
    h = his[lane] > h ? his[lane] : h;
    p += poisons[lane];
  }
  for (; k < depth; k++) {
    float v = row[k];
    l = v < l ? v : l;
    h = v > h ? v : h;
    p += v * 0.0f;
  }
  *lo_out = l;
  *hi_out = h;
  *finite = p == 0;
}

CINT8_AVX2 void cint8_avx2_quantize_rows(
    const float *x, ptrdiff_t stride, ptrdiff_t rows, ptrdiff_t depth, uint8_t *packed,
    float *scales, int32_t *zero_points) {
  const ptrdiff_t mr = CINT8_TILE_ROWS;
  const ptrdiff_t sliver_bytes = cint8_sliver_bytes(depth);
  const __m256i zero = _mm256_setzero_si256();
  const __m256i maximum = _mm256_set1_epi32(CINT8_ACTIVATION_MAX);
  // Row r's mask moves the low byte of each 32-bit lane of a 128-bit half into
  // bytes 4r…4r+3 of that half: OR-ing the four rows gives, per half, one step
  // of a sliver (4 rows × 4 k), and the two halves are two consecutive steps.
  __m256i masks[CINT8_TILE_ROWS];
  for (int r = 0; r < CINT8_TILE_ROWS; r++) {
    int8_t bytes[32];
    for (int p = 0; p < 32; p++) {
      int within = p % 16;
      bytes[p] = within / 4 == r ? (int8_t)((within % 4) * 4) : (int8_t)0x80;
    }
    masks[r] = _mm256_loadu_si256((const __m256i *)bytes);
  }
  for (ptrdiff_t i0 = 0; i0 < rows; i0 += mr) {
    uint8_t *sliver = packed + (i0 / mr) * sliver_bytes;  // [steps, 4, 4]
    memset(sliver, 0, (size_t)sliver_bytes);
    ptrdiff_t tile_rows = rows - i0 < mr ? rows - i0 : mr;
    float inverses[CINT8_TILE_ROWS] = {0, 0, 0, 0};
    int32_t zeros[CINT8_TILE_ROWS] = {0, 0, 0, 0};
    int active = 0;  // rows with something to write
    for (ptrdiff_t r = 0; r < tile_rows; r++) {
      float lo, hi;
      int finite;
      row_range(x + (i0 + r) * stride, depth, &lo, &hi, &finite);
      cint8_row_parameters(lo, hi, finite, &scales[i0 + r], &inverses[r], &zeros[r]);
      zero_points[i0 + r] = zeros[r];
      if (inverses[r] != 0) active |= 1 << r;
    }
    if (!active) continue;
    ptrdiff_t k = 0;
    for (; k + 8 <= depth; k += 8) {
      __m256i packed_steps = zero;
      for (int r = 0; r < CINT8_TILE_ROWS; r++) {
        if (!(active & (1 << r))) continue;
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + (i0 + r) * stride + k),
                                 _mm256_set1_ps(inverses[r]));
        __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(zeros[r]));
        q = _mm256_min_epi32(_mm256_max_epi32(q, zero), maximum);
        packed_steps = _mm256_or_si256(packed_steps, _mm256_shuffle_epi8(q, masks[r]));
      }
      _mm256_storeu_si256((__m256i *)(sliver + (k / CINT8_DEPTH_STEP) * mr * CINT8_DEPTH_STEP),
                          packed_steps);
    }
    for (; k < depth; k++) {
      for (int r = 0; r < CINT8_TILE_ROWS; r++) {
        if (!(active & (1 << r))) continue;
        sliver[cint8_activation_offset(r, k, depth)] =
            cint8_quantize_value(x[(i0 + r) * stride + k], inverses[r], zeros[r]);
      }
    }
  }
}

#endif
