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
        GgmlType::Q4K => x.chunks_exact(QK_K).for_each(|b| quantize_q4k(b, out)),
        GgmlType::Q6K => x.chunks_exact(QK_K).for_each(|b| quantize_q6k(b, out)),
    }
}

fn quantize_q4k(x: &[f32], out: &mut Vec<u8>) {
    // Per sub-block of 32: y = scale·q − min with q in 0..15.
    let mut scale = [0f32; 8];
    let mut min = [0f32; 8];
    for j in 0..8 {
        let sub = &x[32 * j..32 * j + 32];
        let lo = sub.iter().fold(0f32, |m, &v| m.min(v));
        let hi = sub.iter().fold(f32::MIN, |m, &v| m.max(v));
        scale[j] = (hi - lo) / 15.0;
        min[j] = -lo;
    }
    let d = scale.iter().fold(0f32, |m, &v| m.max(v)) / 63.0;
    let dmin = min.iter().fold(0f32, |m, &v| m.max(v)) / 63.0;
    let d = f16::from_f32(d).to_f32();
    let dmin = f16::from_f32(dmin).to_f32();
    let to6 = |v: f32, s: f32| {
        if s > 0.0 {
            (v / s).round().clamp(0.0, 63.0) as u8
        } else {
            0
        }
    };
    let sc: [u8; 8] = std::array::from_fn(|j| to6(scale[j], d));
    let mn: [u8; 8] = std::array::from_fn(|j| to6(min[j], dmin));
    let mut q = [0u8; QK_K];
    for (i, qi) in q.iter_mut().enumerate() {
        let s = d * sc[i / 32] as f32;
        let m = dmin * mn[i / 32] as f32;
        *qi = if s > 0.0 {
            ((x[i] + m) / s).round().clamp(0.0, 15.0) as u8
        } else {
            0
        };
    }
    out.extend(f16::from_f32(d).to_le_bytes());
    out.extend(f16::from_f32(dmin).to_le_bytes());
    let mut packed = [0u8; 12];
    for j in 0..4 {
        packed[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
        packed[j + 4] = mn[j] | ((mn[j + 4] >> 4) << 6);
        packed[j + 8] = (sc[j + 4] & 0x0F) | ((mn[j + 4] & 0x0F) << 4);
    }
    out.extend(packed);
    for j in 0..4 {
        out.extend((0..32).map(|l| q[64 * j + l] | (q[64 * j + 32 + l] << 4)));
    }
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
