// CInt8GEMM: the int8 matrix product behind Tensors' quantized linear layer.
//
// Not a stable API: Tensors is its only client (see Tensors' QuantizedMatrix,
// QuantizedActivations and Int8GEMM for the documented interface).
//
// M rows of activations, N output columns (the weight's [out, in] rows), K the
// shared depth. The product is
//
//   C[i, j] = Σ_k (A[i, k] − z[i]) · W[j, k]                 exact, in int32
//   Y[i, j] = float(C[i, j]) · (sA[i] · sW[j]) + bias[j]      the float output
//
// with A unsigned activations in 0…255 (one scale sA and zero point z per row),
// W signed weights in −127…127 (one scale sW per row of W, no zero point).
//
// Saturation. Every kernel gives the exact int32 sums of u8 × s8 products.
// AVX-VNNI's vpdpbusd (VEX, 256-bit) and AVX-512-VNNI's (EVEX, 512-bit)
// multiply 4 byte pairs u8 × s8 and add the 4 products straight into
// a 32-bit lane: each product fits in 16 bits and nothing saturates. AVX2 has
// no such instruction. Its u8 × s8 multiply, vpmaddubsw, adds each adjacent
// pair of products into a 16-bit lane *with saturation*, and on u8 activations
// 255·127·2 = 64,770 would not fit in 32,767. The AVX2 kernel therefore
// multiplies s = a − 128 (s8, −128…127; the same packed byte xor 0x80, made
// per broadcast) and adds the difference back:
//
//   Σ_k a·w = Σ_k s·w + 128 · Σ_k w
//
// Σ s·w is vpmaddubsw(|s|, sign(w, s)): |s| ≤ 128 read as unsigned (vpabsb
// leaves −128 as 0x80, which is 128 unsigned), and vpsignb(w, s) moves s's sign
// onto w, which never overflows because w is never −128. Each pair sum is at
// most 2·128·127 = 32,512 ≤ 32,767, so vpmaddubsw cannot saturate. vpmaddwd
// with ones then widens pairs of 16-bit sums into 32-bit lanes, and vpaddd
// accumulates. The 128·Σ w term joins the zero-point correction: each output
// subtracts (z[i] − shift) · Σ_k W[j, k] once, with shift 128 for the AVX2
// kernel and 0 for the others (the column sums are computed when the weight is
// packed). The int32 sums cannot overflow while K ≤ CINT8_DEPTH_MAX:
// |C| ≤ 255 · 127 · K ≤ 2,122,383,360 < 2³¹, and AVX2's raw sums and their
// correction each stay within 128 · 127 · K.
//
// Measured on a 2-core AMD EPYC, one core, data in L1, on 7-bit activations:
// vpmaddubsw alone ran at 2.0× the fp32 FMA peak; the sign trick (vpabsb and
// vpsignb added to every step) at 1.5–1.75×; s16 vpmaddwd at 1.0×; AVX-VNNI's
// vpdpbusd on the same tile at 3.6×. 7 bits are too coarse for a real model
// (sentence-embedding cosines to fp32 down to 0.97), so every kernel now takes
// 8 bits, and AVX2 pays the sign trick's extra uops.
//
// Rounding. Activations: q = clamp(round(x · inverse) + z, 0, 255) with
// round-to-nearest, ties to even, and, per row, lo = min(0, min x),
// hi = max(0, max x), scale = (hi − lo) / 255, inverse = 255 / (hi − lo),
// z = clamp(round(−lo · inverse), 0, 255). A row whose range hi − lo is below
// CINT8_MINIMUM_RANGE (an all-zero row) gets scale 0, zero point 0 and all-zero
// values; a row holding NaN or ±infinity gets scale NaN (its outputs are NaN).
//
// Layout. Weights are packed once into panels of CINT8_TILE_COLUMNS (16)
// columns; within a panel, each group of CINT8_DEPTH_STEP (4) consecutive k
// holds 16 columns × 4 bytes (column-major in the group), so one 32-byte load
// is 8 columns × 4 k. Activations are packed per call into slivers of
// CINT8_TILE_ROWS (4) rows, each group of 4 k holding 4 rows × 4 bytes, so a
// 4-byte broadcast is one row's 4 k. K is padded with zeros to a multiple of 4,
// N to a multiple of 16 and M to a multiple of 4; the padding adds nothing.
// Buffers should be 64-byte aligned (panels then are too).
//
// Kernels, compiled with __attribute__((target(...))) and chosen at run time:
// where the CPU has AVX-512-VNNI, vpdpbusd on zmm registers, where one 64-byte
// load is a whole panel step and two panels make a 4 × 32 tile of 8
// accumulators; else a 4 × 16 tile of 8 ymm accumulators, with vpdpbusd where
// the CPU has AVX-VNNI, else with AVX2's sign trick (u8 × s8 summed over 4 k
// straight into int32 is one vpdpbusd for vpmaddubsw + vpmaddwd + vpaddd). The portable kernel is
// plain C over the same layout and builds on every platform. All read the same
// packed bytes and give the same int32 sums and the same float outputs bit for
// bit (the float epilogue is three IEEE operations in a fixed order, never
// contracted).

#ifndef CINT8GEMM_H
#define CINT8GEMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Rows of the register tile and of a packed activation sliver.
#define CINT8_TILE_ROWS 4
/// Columns of the register tile and of a packed weight panel.
#define CINT8_TILE_COLUMNS 16
/// Consecutive k values packed together (one vpmaddubsw + vpmaddwd step).
#define CINT8_DEPTH_STEP 4
/// The largest activation value: 8 bits (unsigned, with a zero point per row).
#define CINT8_ACTIVATION_MAX 255
/// The largest weight magnitude (symmetric: −127…127, never −128).
#define CINT8_WEIGHT_MAX 127
/// The largest K for which the int32 sums cannot overflow.
#define CINT8_DEPTH_MAX 65536
/// Below this range (hi − lo) a row of activations counts as all zeros.
#define CINT8_MINIMUM_RANGE 1e-30f

/// The plain C kernel, on every platform.
#define CINT8_KERNEL_PORTABLE 0
/// The AVX2 kernel (x86_64 with AVX2 and FMA): vpmaddubsw with the sign trick.
#define CINT8_KERNEL_AVX2 1
/// The AVX-VNNI kernel (x86_64 with AVX2, FMA and AVX-VNNI): vpdpbusd (VEX).
#define CINT8_KERNEL_AVXVNNI 2
/// The AVX-512-VNNI kernel (x86_64 with AVX2, FMA, AVX-512F, AVX-512VL and
/// AVX-512-VNNI): vpdpbusd on 512-bit registers, a 4 × 32 tile.
#define CINT8_KERNEL_AVX512VNNI 3

/// 1 when `kernel` is built into this binary and the CPU runs it, else 0.
int cint8_kernel_is_available(int kernel);

/// Where the product of one block goes, and how it is finished.
/// Every pointer is already offset to the block's first row and column.
typedef struct CInt8Output {
  /// int32 output C (exactly one of `sums` and `values` is non-NULL).
  int32_t *sums;
  /// float output Y.
  float *values;
  /// Row stride of the output, in elements.
  ptrdiff_t stride;
  /// [rows] zero points z, or NULL for none (z = 0).
  const int32_t *zero_points;
  /// [columns] Σ_k W[j, k]; always needed (the AVX2 kernel corrects its
  /// shifted sums with it even without zero points).
  const int32_t *column_sums;
  /// [rows] activation scales sA (float output only).
  const float *row_scales;
  /// [columns] weight scales sW (float output only).
  const float *column_scales;
  /// [columns] bias, or NULL (float output only).
  const float *bias;
} CInt8Output;

/// Bytes of `columns` × `depth` packed weights (whole panels, K padded).
size_t cint8_packed_weights_size(ptrdiff_t columns, ptrdiff_t depth);

/// Packs W [columns, depth] (row stride `stride`, values −127…127) into panels.
void cint8_pack_weights(
    const int8_t *weights, ptrdiff_t stride, ptrdiff_t columns, ptrdiff_t depth, int8_t *packed);

/// Unpacks panels back into W [columns, depth] (row stride `stride`).
void cint8_unpack_weights(
    const int8_t *packed, ptrdiff_t columns, ptrdiff_t depth, int8_t *weights, ptrdiff_t stride);

/// Bytes of `rows` × `depth` packed activations (whole slivers, K padded).
size_t cint8_packed_activations_size(ptrdiff_t rows, ptrdiff_t depth);

/// Packs A [rows, depth] (row stride `stride`, values 0…255) into slivers.
void cint8_pack_activations(
    const uint8_t *activations, ptrdiff_t stride, ptrdiff_t rows, ptrdiff_t depth,
    uint8_t *packed);

/// Unpacks slivers back into A [rows, depth] (row stride `stride`).
void cint8_unpack_activations(
    const uint8_t *packed, ptrdiff_t rows, ptrdiff_t depth, uint8_t *activations,
    ptrdiff_t stride);

/// Quantizes X [rows, depth] (float, row stride `stride`) by the rule above,
/// writing packed slivers (padding rows and k as zeros), and per row its
/// scale and zero point.
void cint8_quantize_rows(
    int kernel, const float *x, ptrdiff_t stride, ptrdiff_t rows, ptrdiff_t depth,
    uint8_t *packed, float *scales, int32_t *zero_points);

/// The product of `rows` packed activation rows (from a sliver boundary) and
/// `columns` packed weight columns (from a panel boundary) over `depth`,
/// finished as `output` says.
void cint8_multiply(
    int kernel, const uint8_t *packed_activations, ptrdiff_t rows, const int8_t *packed_weights,
    ptrdiff_t columns, ptrdiff_t depth, const CInt8Output *output);

#ifdef __cplusplus
}
#endif

#endif
