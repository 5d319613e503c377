//! x86_64 AVX2 versions of the q8_0 kernels of the native build, chosen at run time: the tile
//! kernel on packed q8_0 tiles (every quantized Whisper matrix and the chat model's q8_0 ones)
//! and the one-row q8_0 dot product. A CPU without AVX2, FMA and F16C, and the tile formats
//! other than [`TileFormat::Bytes`], keep the portable kernels.
//!
//! Same arithmetic as the portable code ([`super::packed::dot_packed_group`]): each pair of a
//! packed block holds the pair's two values of the eight rows, which widened to i16 and
//! multiplied by a token's pair of activations broadcast to every lane give the eight rows'
//! partial sums in the eight i32 lanes of one `vpmaddwd`. The integer sums are exact, and each
//! lane's f32 accumulation is the portable one (a multiply, then an add; never a fused one), so
//! the tile kernel equals the portable one bit for bit. So does the one-row dot product: its
//! blocks' integer sums in AVX2, their f32 accumulation in order.

use std::arch::x86_64::*;
use std::sync::OnceLock;

use super::kernels::{f16_at, QuantizedActivations, TokenGroup, QK8_0};
use super::packed::{Tile, TileFormat, SCALE_BYTES, TILE_ROWS};

/// Whether this CPU runs the kernels here (AVX2, FMA and F16C), detected once; `false` also
/// when the environment sets `SOTTO_KERNELS=portable` (to measure the portable kernels).
#[inline]
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        std::env::var_os("SOTTO_KERNELS").is_none_or(|v| v != "portable")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    })
}

/// [`super::packed::dot_packed_group`] in AVX2, bit for bit, for q8_0 tiles
/// ([`TileFormat::Bytes`]); `None` on another format or a CPU without AVX2, where the caller
/// takes the portable kernel.
#[inline]
pub fn dot_packed_group(
    tile: Tile<'_>,
    g: &TokenGroup,
    tokens: usize,
) -> Option<[[f32; TILE_ROWS]; 4]> {
    if tile.format != TileFormat::Bytes || !available() {
        return None;
    }
    let blocks = tile.blocks();
    assert!((1..=4).contains(&tokens), "a group has one to four tokens");
    assert!(tile.bytes.len() >= blocks * tile.format.block_bytes());
    assert!(tile.scales.is_none_or(|s| s.len() >= blocks * TILE_ROWS));
    assert!(g.qs.len() >= blocks * 4 * QK8_0 && g.scales.len() >= blocks * 4);
    // SAFETY: the CPU has AVX2, FMA and F16C (checked above), and the lengths the kernel reads
    // are asserted above.
    Some(unsafe {
        match tokens {
            1 => bytes_tile::<1>(tile, g),
            2 => bytes_tile::<2>(tile, g),
            3 => bytes_tile::<3>(tile, g),
            _ => bytes_tile::<4>(tile, g),
        }
    })
}

/// The q8_0 tile · the group's first `T` tokens. For each block: its eight scales (decoded
/// with `vcvtph2ps`, exact for every finite f16, or as the tile brings them decoded), then for
/// each of its 16 pairs one widening load of the eight rows' values and, per token, a
/// broadcast of the token's pair and a `vpmaddwd` into the token's eight i32 sums; then per
/// token `acc += sums · (dw · da)` in f32, lane by lane, as the portable kernel adds them.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C; `tile` must hold `tile.blocks()` whole blocks (and
/// their decoded scales, if it brings them), and `g` as many blocks of four tokens.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bytes_tile<const T: usize>(tile: Tile<'_>, g: &TokenGroup) -> [[f32; 8]; 4] {
    let block_bytes = tile.format.block_bytes();
    let (w, qa, da) = (tile.bytes.as_ptr(), g.qs.as_ptr(), g.scales.as_ptr());
    let mut acc = [_mm256_setzero_ps(); T];
    for b in 0..tile.blocks() {
        // SAFETY (the loads below): block `b` of the tile is `block_bytes` bytes (its eight f16
        // scales, then 16 pairs of 16 values), its decoded scales 8 floats, and block `b` of
        // the group 4 × 32 i16 and 4 scales: all inside the lengths the caller checked. The
        // unaligned loads need no alignment.
        let block = unsafe { w.add(b * block_bytes) };
        let dw = match tile.scales {
            Some(scales) => unsafe { _mm256_loadu_ps(scales.as_ptr().add(b * TILE_ROWS)) },
            None => _mm256_cvtph_ps(unsafe { _mm_loadu_si128(block as *const __m128i) }),
        };
        let qb = unsafe { qa.add(b * 4 * QK8_0) };
        let mut sums = [_mm256_setzero_si256(); T];
        for p in 0..QK8_0 / 2 {
            let values = unsafe { block.add(SCALE_BYTES + 2 * TILE_ROWS * p) };
            let wide = _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(values as *const __m128i) });
            for (k, sum) in sums.iter_mut().enumerate() {
                // The token's values 2p and 2p + 1 as one i32, in every lane.
                let pair = unsafe { (qb.add(k * QK8_0 + 2 * p) as *const i32).read_unaligned() };
                let products = _mm256_madd_epi16(wide, _mm256_set1_epi32(pair));
                *sum = _mm256_add_epi32(*sum, products);
            }
        }
        for (k, (acc, sum)) in acc.iter_mut().zip(sums).enumerate() {
            let scale = _mm256_mul_ps(dw, _mm256_set1_ps(unsafe { *da.add(4 * b + k) }));
            *acc = _mm256_add_ps(*acc, _mm256_mul_ps(_mm256_cvtepi32_ps(sum), scale));
        }
    }
    let mut out = [[0f32; 8]; 4];
    for (out, acc) in out.iter_mut().zip(acc) {
        // SAFETY: `out` is eight floats.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), acc) };
    }
    out
}

/// q8_0 weights · q8_0 activations: [`super::kernels::dot_q8_0_q8_0`] bit for bit (each
/// block's integer sum in AVX2, the blocks added in f32 in the portable order); `None` on a
/// CPU without AVX2.
#[inline]
pub fn dot_q8_0_q8_0(w: &[u8], a: &QuantizedActivations) -> Option<f32> {
    if !available() {
        return None;
    }
    let blocks = (w.len() / 34).min(a.scales.len());
    assert!(a.qs.len() >= blocks * QK8_0);
    // SAFETY: AVX2 checked above; `blocks` whole blocks of both operands exist.
    Some(unsafe { q8_0_row(w, a, blocks) })
}

/// # Safety
/// The CPU must have AVX2; `w` must hold `blocks` q8_0 blocks and `a` as many.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_row(w: &[u8], a: &QuantizedActivations, blocks: usize) -> f32 {
    let mut acc = 0f32;
    for b in 0..blocks {
        let block = &w[34 * b..34 * b + 34];
        let qa = &a.qs[QK8_0 * b..QK8_0 * b + QK8_0];
        // SAFETY: 32 bytes of values after the block's scale, and 32 activations, read 16 at a
        // time.
        let [w0, w1, a0, a1] = unsafe {
            [
                block[2..].as_ptr(),
                block[18..].as_ptr(),
                qa.as_ptr() as *const u8,
                qa[16..].as_ptr() as *const u8,
            ]
            .map(|p| _mm_loadu_si128(p as *const __m128i))
        };
        // Both widened to i16 (every i8, -128 included), products summed in pairs in i32.
        let sums = _mm256_add_epi32(
            _mm256_madd_epi16(_mm256_cvtepi8_epi16(w0), _mm256_cvtepi8_epi16(a0)),
            _mm256_madd_epi16(_mm256_cvtepi8_epi16(w1), _mm256_cvtepi8_epi16(a1)),
        );
        let half = _mm_add_epi32(
            _mm256_castsi256_si128(sums),
            _mm256_extracti128_si256(sums, 1),
        );
        let half = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0b01_00_11_10));
        let sum = _mm_cvtsi128_si32(_mm_add_epi32(half, _mm_shuffle_epi32(half, 0b10_11_00_01)));
        acc += sum as f32 * (f16_at(block) * a.scales[b]);
    }
    acc
}
