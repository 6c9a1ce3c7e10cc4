// The x86 kernels: a 4 × 16 register tile of int32 sums over u8 × s8 products.
//
// Each step of 4 k: one 32-bit broadcast of a row's 4 activations, and per
// 8 columns, on CPUs with AVX-VNNI or AVX-512-VNNI, one vpdpbusd (u8 × s8
// summed over 4 k into int32). On AVX2 alone, the sign trick of CInt8GEMM.h:
// per broadcast, s = a xor 0x80 (a − 128 as s8) and |s| (vpabsb); per 8
// columns, vpsignb moves s's sign onto the weights, vpmaddubsw(|s|, ±w) gives
// 16 pair sums in int16 that cannot saturate, vpmaddwd with ones widens them
// into int32, and vpaddd accumulates; the epilogue adds 128 · Σ w back. 8
// accumulators, 2 weight vectors, s, |s|, the ones and a temporary fill 14 of
// the 16 ymm registers. The activation quantizer needs AVX2 only and serves
// every kernel here.
//
// Compiled with target attributes, so the rest of the package needs no special
// flags; Dispatch.c calls each kernel only when the CPU has its extensions.

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

/// One row's broadcast step as AVX2's sign trick needs it: s = a − 128 and |s|.
typedef struct ShiftedStep {
  /// |a − 128| per byte, 0…128 read as unsigned (vpabsb leaves −128 as 0x80).
  __m256i magnitude;
  /// a − 128 per byte as s8, −128…127: its sign goes onto the weights.
  __m256i sign;
} ShiftedStep;

/// The 4 activations of one row for one step, shifted by −128 (xor 0x80).
CINT8_AVX2 static inline ShiftedStep broadcast_shifted_step(const uint8_t *a) {
  __m256i s = _mm256_xor_si256(broadcast_step(a), _mm256_set1_epi8((char)0x80));
  ShiftedStep step = {_mm256_abs_epi8(s), s};
  return step;
}

/// acc += Σ over 4 k of (a − 128) · b, per 32-bit lane: |s| · (b with s's
/// sign), whose pair sums are at most 2 · 128 · 127 = 32,512 in magnitude.
CINT8_AVX2 static inline __m256i multiply_add_shifted(
    __m256i acc, ShiftedStep a, __m256i b, __m256i ones) {
  __m256i signed_b = _mm256_sign_epi8(b, a.sign);  // b · sign(s), never overflows: b ≠ −128
  __m256i pairs = _mm256_maddubs_epi16(a.magnitude, signed_b);  // int16: s0·b0 + s1·b1, …
  return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
}

/// The epilogue of one row of a full tile: 16 raw sums over (A − shift) · W,
/// as cint8_finish_tile does it.
CINT8_AVX2 static inline void finish_row(
    __m256i low, __m256i high, const CInt8Output *output, ptrdiff_t i, ptrdiff_t j,
    int32_t shift) {
  int32_t zero_point = cint8_correction(output, i, shift);
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

/// The tile loop over every panel (outer) and sliver (inner) of a block: one
/// 4 × 16 tile of 8 accumulators per pair, LOAD(a) giving one row's step (of
/// type ROW), STEP(acc, row, b) adding it over 4 k, then the epilogue with the
/// kernel's SHIFT. The body of every kernel in this file; each passes its own
/// operations and is compiled for its own target.
#define CINT8_TILE_LOOP(ROW, LOAD, STEP, SHIFT)                                                  \
  const ptrdiff_t steps = cint8_steps(depth);                                                    \
  const ptrdiff_t mr = CINT8_TILE_ROWS;                                                          \
  const ptrdiff_t nr = CINT8_TILE_COLUMNS;                                                       \
  for (ptrdiff_t j0 = 0; j0 < columns; j0 += nr) {                                               \
    const int8_t *panel = packed_weights + (j0 / nr) * cint8_panel_bytes(depth);                 \
    ptrdiff_t tile_columns = columns - j0 < nr ? columns - j0 : nr;                              \
    for (ptrdiff_t i0 = 0; i0 < rows; i0 += mr) {                                                \
      const uint8_t *a = packed_activations + (i0 / mr) * cint8_sliver_bytes(depth);             \
      const int8_t *b = panel;                                                                   \
      __m256i c00 = _mm256_setzero_si256(), c01 = _mm256_setzero_si256();                        \
      __m256i c10 = _mm256_setzero_si256(), c11 = _mm256_setzero_si256();                        \
      __m256i c20 = _mm256_setzero_si256(), c21 = _mm256_setzero_si256();                        \
      __m256i c30 = _mm256_setzero_si256(), c31 = _mm256_setzero_si256();                        \
      for (ptrdiff_t s = 0; s < steps; s++) {                                                    \
        __m256i b0 = _mm256_loadu_si256((const __m256i *)b);        /* columns 0…7 × 4 k */      \
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 32)); /* columns 8…15 × 4 k */     \
        ROW a0 = LOAD(a);                                                                        \
        c00 = STEP(c00, a0, b0);                                                                 \
        c01 = STEP(c01, a0, b1);                                                                 \
        ROW a1 = LOAD(a + 4);                                                                    \
        c10 = STEP(c10, a1, b0);                                                                 \
        c11 = STEP(c11, a1, b1);                                                                 \
        ROW a2 = LOAD(a + 8);                                                                    \
        c20 = STEP(c20, a2, b0);                                                                 \
        c21 = STEP(c21, a2, b1);                                                                 \
        ROW a3 = LOAD(a + 12);                                                                   \
        c30 = STEP(c30, a3, b0);                                                                 \
        c31 = STEP(c31, a3, b1);                                                                 \
        a += mr * CINT8_DEPTH_STEP;                                                              \
        b += nr * CINT8_DEPTH_STEP;                                                              \
      }                                                                                          \
      ptrdiff_t tile_rows = rows - i0 < mr ? rows - i0 : mr;                                     \
      __m256i tile[CINT8_TILE_ROWS][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};      \
      finish_tile(tile, tile_rows, tile_columns, output, i0, j0, SHIFT);                         \
    }                                                                                            \
  }

/// The epilogue of one tile of raw sums over (A − shift) · W: full tiles in
/// vectors, edge tiles element by element.
CINT8_AVX2 static inline void finish_tile(
    __m256i tile[CINT8_TILE_ROWS][2], ptrdiff_t rows, ptrdiff_t columns,
    const CInt8Output *output, ptrdiff_t i0, ptrdiff_t j0, int32_t shift) {
  if (rows == CINT8_TILE_ROWS && columns == CINT8_TILE_COLUMNS) {
    for (int r = 0; r < CINT8_TILE_ROWS; r++) {
      finish_row(tile[r][0], tile[r][1], output, i0 + r, j0, shift);
    }
    return;
  }
  int32_t sums[CINT8_TILE_ROWS][CINT8_TILE_COLUMNS];
  for (int r = 0; r < CINT8_TILE_ROWS; r++) {
    _mm256_storeu_si256((__m256i *)sums[r], tile[r][0]);
    _mm256_storeu_si256((__m256i *)(sums[r] + 8), tile[r][1]);
  }
  cint8_finish_tile(sums, rows, columns, output, i0, j0, shift);
}

/// AVX2's step, the sign trick: vpsignb, vpmaddubsw, vpmaddwd with ones, vpaddd
/// on (a − 128) · b; the epilogue adds 128 · Σ b back (shift 128).
#define CINT8_AVX2_STEP(acc, a, b) multiply_add_shifted(acc, a, b, ones)

CINT8_AVX2 void cint8_avx2_multiply(
    const uint8_t *packed_activations, ptrdiff_t rows, const int8_t *packed_weights,
    ptrdiff_t columns, ptrdiff_t depth, const CInt8Output *output) {
  const __m256i ones = _mm256_set1_epi16(1);
  CINT8_TILE_LOOP(ShiftedStep, broadcast_shifted_step, CINT8_AVX2_STEP, 128)
}

/// AVX-VNNI's step: one vpdpbusd (VEX), u8 × s8 summed over 4 k straight into
/// int32 (each product fits in 16 bits; nothing saturates).
#define CINT8_AVXVNNI_STEP(acc, a, b) _mm256_dpbusd_avx_epi32(acc, a, b)

__attribute__((target("avx2,fma,avxvnni"))) void cint8_avxvnni_multiply(
    const uint8_t *packed_activations, ptrdiff_t rows, const int8_t *packed_weights,
    ptrdiff_t columns, ptrdiff_t depth, const CInt8Output *output) {
  CINT8_TILE_LOOP(__m256i, broadcast_step, CINT8_AVXVNNI_STEP, 0)
}

/// AVX-512-VNNI: vpdpbusd on 512-bit registers. One 64-byte load is a whole
/// panel step (16 columns × 4 k, columns 0…7 in the low half and 8…15 in the
/// high half, as the ymm kernels read them), so a zmm accumulator holds one
/// row of a 4 × 16 tile; two panels side by side give 8 accumulators per step.
/// The halves then take the same epilogue as the ymm kernels.
#define CINT8_AVX512 __attribute__((target("avx2,fma,avx512f,avx512vl,avx512vnni")))

/// The 4 activations of one row for one step, broadcast to all 16 lanes.
CINT8_AVX512 static inline __m512i broadcast_step_512(const uint8_t *a) {
  int32_t word;
  memcpy(&word, a, sizeof word);
  return _mm512_set1_epi32(word);
}

/// Hands the 4 zmm rows of one panel's tile to the shared epilogue.
CINT8_AVX512 static inline void finish_tile_512(
    __m512i c0, __m512i c1, __m512i c2, __m512i c3, ptrdiff_t rows, ptrdiff_t columns,
    const CInt8Output *output, ptrdiff_t i0, ptrdiff_t j0) {
  __m256i tile[CINT8_TILE_ROWS][2] = {
      {_mm512_castsi512_si256(c0), _mm512_extracti64x4_epi64(c0, 1)},
      {_mm512_castsi512_si256(c1), _mm512_extracti64x4_epi64(c1, 1)},
      {_mm512_castsi512_si256(c2), _mm512_extracti64x4_epi64(c2, 1)},
      {_mm512_castsi512_si256(c3), _mm512_extracti64x4_epi64(c3, 1)},
  };
  finish_tile(tile, rows, columns, output, i0, j0, 0);
}

CINT8_AVX512 void cint8_avx512vnni_multiply(
    const uint8_t *packed_activations, ptrdiff_t rows, const int8_t *packed_weights,
    ptrdiff_t columns, ptrdiff_t depth, const CInt8Output *output) {
  const ptrdiff_t steps = cint8_steps(depth);
  const ptrdiff_t mr = CINT8_TILE_ROWS;
  const ptrdiff_t nr = CINT8_TILE_COLUMNS;
  const ptrdiff_t panel_bytes = cint8_panel_bytes(depth);
  for (ptrdiff_t j0 = 0; j0 < columns; j0 += 2 * nr) {
    const int8_t *panel = packed_weights + (j0 / nr) * panel_bytes;
    int pair = j0 + nr < columns;  // a second panel to the right
    ptrdiff_t first_columns = columns - j0 < nr ? columns - j0 : nr;
    ptrdiff_t second_columns = pair ? (columns - j0 - nr < nr ? columns - j0 - nr : nr) : 0;
    for (ptrdiff_t i0 = 0; i0 < rows; i0 += mr) {
      const uint8_t *a = packed_activations + (i0 / mr) * cint8_sliver_bytes(depth);
      const int8_t *b = panel;
      __m512i c00 = _mm512_setzero_si512(), c01 = _mm512_setzero_si512();
      __m512i c10 = _mm512_setzero_si512(), c11 = _mm512_setzero_si512();
      __m512i c20 = _mm512_setzero_si512(), c21 = _mm512_setzero_si512();
      __m512i c30 = _mm512_setzero_si512(), c31 = _mm512_setzero_si512();
      if (pair) {
        for (ptrdiff_t s = 0; s < steps; s++) {
          __m512i b0 = _mm512_loadu_si512((const void *)b);                  /* panel 1 */
          __m512i b1 = _mm512_loadu_si512((const void *)(b + panel_bytes));  /* panel 2 */
          __m512i a0 = broadcast_step_512(a);
          c00 = _mm512_dpbusd_epi32(c00, a0, b0);
          c01 = _mm512_dpbusd_epi32(c01, a0, b1);
          __m512i a1 = broadcast_step_512(a + 4);
          c10 = _mm512_dpbusd_epi32(c10, a1, b0);
          c11 = _mm512_dpbusd_epi32(c11, a1, b1);
          __m512i a2 = broadcast_step_512(a + 8);
          c20 = _mm512_dpbusd_epi32(c20, a2, b0);
          c21 = _mm512_dpbusd_epi32(c21, a2, b1);
          __m512i a3 = broadcast_step_512(a + 12);
          c30 = _mm512_dpbusd_epi32(c30, a3, b0);
          c31 = _mm512_dpbusd_epi32(c31, a3, b1);
          a += mr * CINT8_DEPTH_STEP;
          b += nr * CINT8_DEPTH_STEP;
        }
      } else {
        for (ptrdiff_t s = 0; s < steps; s++) {
          __m512i b0 = _mm512_loadu_si512((const void *)b);
          c00 = _mm512_dpbusd_epi32(c00, broadcast_step_512(a), b0);
          c10 = _mm512_dpbusd_epi32(c10, broadcast_step_512(a + 4), b0);
          c20 = _mm512_dpbusd_epi32(c20, broadcast_step_512(a + 8), b0);
          c30 = _mm512_dpbusd_epi32(c30, broadcast_step_512(a + 12), b0);
          a += mr * CINT8_DEPTH_STEP;
          b += nr * CINT8_DEPTH_STEP;
        }
      }
      ptrdiff_t tile_rows = rows - i0 < mr ? rows - i0 : mr;
      finish_tile_512(c00, c10, c20, c30, tile_rows, first_columns, output, i0, j0);
      if (pair) {
        finish_tile_512(c01, c11, c21, c31, tile_rows, second_columns, output, i0, j0 + nr);
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
