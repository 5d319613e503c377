//! Encoders from f32 to each block format: used to build random real-shape models for benchmarks and
//! to test the kernels. They produce valid blocks with simple (not error-optimal) scales; llama.cpp's
//! `quantize_row_*_ref` are the reference for the q8_0 and q4_0 rounding.

use half::f16;

use super::kernels::{QK8_0, QK_K};
use super::GgmlType;

/// Encodes `x` (a whole number of blocks) as `dtype`, appending to `out`.
pub fn quantize_row(dtype: GgmlType, x: &[f32], out: &mut Vec<u8>) {
    match dtype {
        GgmlType::F32 => x.iter().for_each(|v| out.extend(v.to_le_bytes())),
        GgmlType::F16 => x
            .iter()
            .for_each(|v| out.extend(f16::from_f32(*v).to_le_bytes())),
        GgmlType::BF16 => x
            .iter()
            .for_each(|v| out.extend(half::bf16::from_f32(*v).to_le_bytes())),
        GgmlType::Q8_0 => {
            for block in x.chunks_exact(QK8_0) {
                let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
                let d = amax / 127.0;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                out.extend(f16::from_f32(d).to_le_bytes());
                out.extend(block.iter().map(|v| (v * id).round() as i8 as u8));
            }
        }
        GgmlType::Q4_0 => {
            for block in x.chunks_exact(QK8_0) {
                let max = block
                    .iter()
                    .fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
                let d = max / -8.0;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                let q = |v: f32| ((v * id + 8.5) as i32).clamp(0, 15) as u8;
                out.extend(f16::from_f32(d).to_le_bytes());
                out.extend((0..16).map(|j| q(block[j]) | (q(block[j + 16]) << 4)));
            }
        }
        GgmlType::Q4_1 => {
            for block in x.chunks_exact(QK8_0) {
                let lo = block.iter().fold(f32::MAX, |m, &v| m.min(v));
                let hi = block.iter().fold(f32::MIN, |m, &v| m.max(v));
                let d = (hi - lo) / 15.0;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                let q = |v: f32| (((v - lo) * id + 0.5) as i32).clamp(0, 15) as u8;
                out.extend(f16::from_f32(d).to_le_bytes());
                out.extend(f16::from_f32(lo).to_le_bytes());
                out.extend((0..16).map(|j| q(block[j]) | (q(block[j + 16]) << 4)));
            }
        }
        GgmlType::Q5_0 => {
            for block in x.chunks_exact(QK8_0) {
                let max = block
                    .iter()
                    .fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
                let d = max / -16.0;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                let q: Vec<u32> = block
                    .iter()
                    .map(|&v| ((v * id + 16.5) as i32).clamp(0, 31) as u32)
                    .collect();
                let qh = (0..16).fold(0u32, |h, j| {
                    h | ((q[j] >> 4) << j) | ((q[j + 16] >> 4) << (j + 16))
                });
                out.extend(f16::from_f32(d).to_le_bytes());
                out.extend(qh.to_le_bytes());
                out.extend(
                    (0..16).map(|j| (q[j] & 0x0F) as u8 | (((q[j + 16] & 0x0F) as u8) << 4)),
                );
            }
        }
        GgmlType::Q5_1 => {
            for block in x.chunks_exact(QK8_0) {
                let lo = block.iter().fold(f32::MAX, |m, &v| m.min(v));
                let hi = block.iter().fold(f32::MIN, |m, &v| m.max(v));
                let d = (hi - lo) / 31.0;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                let q: Vec<u32> = block
                    .iter()
                    .map(|&v| (((v - lo) * id + 0.5) as i32).clamp(0, 31) as u32)
                    .collect();
                let qh = (0..16).fold(0u32, |h, j| {
                    h | ((q[j] >> 4) << j) | ((q[j + 16] >> 4) << (j + 16))
                });
                out.extend(f16::from_f32(d).to_le_bytes());
                out.extend(f16::from_f32(lo).to_le_bytes());
                out.extend(qh.to_le_bytes());
                out.extend(
                    (0..16).map(|j| (q[j] & 0x0F) as u8 | (((q[j + 16] & 0x0F) as u8) << 4)),
                );
            }
        }
        GgmlType::Q2K => x.chunks_exact(QK_K).for_each(|b| quantize_q2k(b, out)),
        GgmlType::Q3K => x.chunks_exact(QK_K).for_each(|b| quantize_q3k(b, out)),
        GgmlType::Q4K => x.chunks_exact(QK_K).for_each(|b| quantize_q4k(b, out)),
        GgmlType::Q5K => x.chunks_exact(QK_K).for_each(|b| quantize_q5k(b, out)),
        GgmlType::Q6K => x.chunks_exact(QK_K).for_each(|b| quantize_q6k(b, out)),
    }
}

/// `v / s` rounded into `0..=max` (0 when the step `s` is 0).
fn level(v: f32, s: f32, max: f32) -> f32 {
    if s > 0.0 {
        (v / s).round().clamp(0.0, max)
    } else {
        0.0
    }
}

fn quantize_q2k(x: &[f32], out: &mut Vec<u8>) {
    // Per sub-block of 16: y = d·sc·q − dmin·m with q in 0..=3, sc and m in 0..=15.
    let lows: [f32; 16] =
        std::array::from_fn(|g| x[16 * g..16 * g + 16].iter().fold(0f32, |m, &v| m.min(v)));
    let steps: [f32; 16] = std::array::from_fn(|g| {
        let hi = x[16 * g..16 * g + 16]
            .iter()
            .fold(f32::MIN, |m, &v| m.max(v));
        (hi - lows[g]) / 3.0
    });
    let d = f16::from_f32(steps.iter().fold(0f32, |m, &v| m.max(v)) / 15.0).to_f32();
    let dmin = f16::from_f32(lows.iter().fold(0f32, |m, &v| m.max(-v)) / 15.0).to_f32();
    let sc: [u8; 16] = std::array::from_fn(|g| level(steps[g], d, 15.0) as u8);
    let mn: [u8; 16] = std::array::from_fn(|g| level(-lows[g], dmin, 15.0) as u8);
    out.extend((0..16).map(|g| sc[g] | (mn[g] << 4)));
    let q: [u8; QK_K] = std::array::from_fn(|i| {
        let (s, m) = (d * sc[i / 16] as f32, dmin * mn[i / 16] as f32);
        level(x[i] + m, s, 3.0) as u8
    });
    for k in 0..2 {
        out.extend(
            (0..32).map(|l| (0..4).fold(0u8, |b, j| b | (q[128 * k + 32 * j + l] << (2 * j)))),
        );
    }
    out.extend(f16::from_f32(d).to_le_bytes());
    out.extend(f16::from_f32(dmin).to_le_bytes());
}

fn quantize_q3k(x: &[f32], out: &mut Vec<u8>) {
    // Per sub-block of 16: y = d·(sc − 32)·q with q in −4..=3 and sc in 0..=63.
    let steps: [f32; 16] = std::array::from_fn(|g| {
        x[16 * g..16 * g + 16]
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()))
            / 4.0
    });
    let d = f16::from_f32(steps.iter().fold(0f32, |m, &v| m.max(v)) / 31.0).to_f32();
    let sc: [u8; 16] = std::array::from_fn(|g| level(steps[g], d, 31.0) as u8 + 32);
    // Stored as q + 4: low two bits in `qs`, the third in `hmask`.
    let q: [u8; QK_K] = std::array::from_fn(|i| {
        let s = d * (sc[i / 16] as f32 - 32.0);
        (level(x[i] + 4.0 * s, s, 7.0)) as u8
    });
    let mut hmask = [0u8; 32];
    let mut qs = [0u8; 64];
    for (i, &q) in q.iter().enumerate() {
        let (j, s, l) = (i / 128, (i / 32) % 4, i % 32);
        qs[32 * j + l] |= (q & 3) << (2 * s);
        hmask[l] |= (q >> 2) << (4 * j + s);
    }
    let mut scales = [0u8; 12];
    for (j, &s) in sc.iter().enumerate() {
        scales[j % 8] |= (s & 0x0F) << (4 * (j / 8));
        scales[8 + j % 4] |= (s >> 4) << (2 * (j / 4));
    }
    out.extend(hmask);
    out.extend(qs);
    out.extend(scales);
    out.extend(f16::from_f32(d).to_le_bytes());
}

fn quantize_q5k(x: &[f32], out: &mut Vec<u8>) {
    let (header, q) = scales_and_levels_k(x, 31.0);
    out.extend(header);
    out.extend((0..32).map(|l| (0..8).fold(0u8, |b, k| b | ((q[32 * k + l] >> 4) << k))));
    for j in 0..4 {
        out.extend((0..32).map(|l| (q[64 * j + l] & 0x0F) | ((q[64 * j + 32 + l] & 0x0F) << 4)));
    }
}

fn quantize_q4k(x: &[f32], out: &mut Vec<u8>) {
    let (header, q) = scales_and_levels_k(x, 15.0);
    out.extend(header);
    for j in 0..4 {
        out.extend((0..32).map(|l| q[64 * j + l] | (q[64 * j + 32 + l] << 4)));
    }
}

/// The q4_K/q5_K header (d, dmin, the 6-bit scales and mins of the eight sub-blocks of 32) and
/// each value's level in `0..=max`: y = d·sc·q − dmin·m.
fn scales_and_levels_k(x: &[f32], max: f32) -> ([u8; 16], [u8; QK_K]) {
    let mut scale = [0f32; 8];
    let mut min = [0f32; 8];
    for j in 0..8 {
        let sub = &x[32 * j..32 * j + 32];
        let lo = sub.iter().fold(0f32, |m, &v| m.min(v));
        let hi = sub.iter().fold(f32::MIN, |m, &v| m.max(v));
        scale[j] = (hi - lo) / max;
        min[j] = -lo;
    }
    let d = f16::from_f32(scale.iter().fold(0f32, |m, &v| m.max(v)) / 63.0).to_f32();
    let dmin = f16::from_f32(min.iter().fold(0f32, |m, &v| m.max(v)) / 63.0).to_f32();
    let sc: [u8; 8] = std::array::from_fn(|j| level(scale[j], d, 63.0) as u8);
    let mn: [u8; 8] = std::array::from_fn(|j| level(min[j], dmin, 63.0) as u8);
    let q: [u8; QK_K] = std::array::from_fn(|i| {
        let (s, m) = (d * sc[i / 32] as f32, dmin * mn[i / 32] as f32);
        level(x[i] + m, s, max) as u8
    });
    let mut header = [0u8; 16];
    header[..2].copy_from_slice(&f16::from_f32(d).to_le_bytes());
    header[2..4].copy_from_slice(&f16::from_f32(dmin).to_le_bytes());
    for j in 0..4 {
        header[4 + j] = sc[j] | ((sc[j + 4] >> 4) << 6);
        header[8 + j] = mn[j] | ((mn[j + 4] >> 4) << 6);
        header[12 + j] = (sc[j + 4] & 0x0F) | ((mn[j + 4] & 0x0F) << 4);
    }
    (header, q)
}

fn quantize_q6k(x: &[f32], out: &mut Vec<u8>) {
    let group_scale: [f32; 16] = std::array::from_fn(|g| {
        x[16 * g..16 * g + 16]
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()))
            / 31.0
    });
    let d = group_scale.iter().fold(0f32, |m, &v| m.max(v)) / 127.0;
    let d = f16::from_f32(d).to_f32();
    let sc: [i8; 16] = std::array::from_fn(|g| {
        if d > 0.0 {
            (group_scale[g] / d).round().clamp(-128.0, 127.0) as i8
        } else {
            0
        }
    });
    let u: [u8; QK_K] = std::array::from_fn(|i| {
        let s = d * sc[i / 16] as f32;
        let q = if s > 0.0 {
            (x[i] / s).round().clamp(-32.0, 31.0)
        } else {
            0.0
        };
        (q as i32 + 32) as u8
    });
    let mut ql = [0u8; 128];
    let mut qh = [0u8; 64];
    for h in 0..2 {
        let u = &u[128 * h..];
        for l in 0..32 {
            ql[64 * h + l] = (u[l] & 0x0F) | ((u[l + 64] & 0x0F) << 4);
            ql[64 * h + l + 32] = (u[l + 32] & 0x0F) | ((u[l + 96] & 0x0F) << 4);
            qh[32 * h + l] = (u[l] >> 4)
                | ((u[l + 32] >> 4) << 2)
                | ((u[l + 64] >> 4) << 4)
                | ((u[l + 96] >> 4) << 6);
        }
    }
    out.extend(ql);
    out.extend(qh);
    out.extend(sc.iter().map(|&s| s as u8));
    out.extend(f16::from_f32(d).to_le_bytes());
}
