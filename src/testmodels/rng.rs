//! A seeded random source whose output is identical on every machine.
//!
//! Only integer operations and IEEE-754 additions/multiplications are used: no `ln`, `cos` or `exp`
//! from the platform's libm, whose last bit may differ between systems. That is what makes the
//! generated model files byte-identical everywhere.

/// SplitMix64: tiny, fast, and good enough to fill weight matrices with noise.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A stream for one tensor: the model seed mixed with a hash of the tensor's name, so each
    /// tensor's values do not depend on the order tensors are written in.
    pub(crate) fn for_tensor(model_seed: u64, tensor_name: &str) -> Self {
        Self {
            state: model_seed ^ fnv1a(tensor_name.as_bytes()),
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Approximately standard normal: the Irwin–Hall sum of four uniforms, centred and scaled to
    /// unit variance (tails are cut at ±3.46σ, which random test weights do not miss).
    pub(crate) fn normal(&mut self) -> f64 {
        let sum = self.unit() + self.unit() + self.unit() + self.unit();
        (sum - 2.0) * SQRT_3
    }
}

const SQRT_3: f64 = 1.732_050_807_568_877_2;

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// `exp(x)` for x ≤ 0 from a Taylor series after halving the argument: portable to the last bit.
pub(crate) fn portable_exp(x: f64) -> f64 {
    let mut halvings = 0;
    let mut y = x;
    while y.abs() > 0.5 {
        y *= 0.5;
        halvings += 1;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..=20 {
        term *= y / f64::from(n);
        sum += term;
    }
    for _ in 0..halvings {
        sum *= sum;
    }
    sum
}

/// `(sin(x), cos(x))` for x ≥ 0 by reduction to [-π, π] and Taylor series.
pub(crate) fn portable_sin_cos(x: f64) -> (f64, f64) {
    const TWO_PI: f64 = std::f64::consts::TAU;
    let turns = (x / TWO_PI + 0.5).floor();
    let r = x - turns * TWO_PI;
    let (mut sin, mut cos) = (0.0, 0.0);
    let (mut sin_term, mut cos_term) = (r, 1.0);
    for n in 0..18 {
        sin += sin_term;
        cos += cos_term;
        let k = f64::from(2 * n + 2);
        sin_term *= -r * r / (k * (k + 1.0));
        cos_term *= -r * r / ((k - 1.0) * k);
    }
    (sin, cos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_has_unit_variance_and_fixed_values() {
        let mut rng = Rng::for_tensor(7, "w");
        let xs: Vec<f64> = (0..20_000).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        let mut again = Rng::for_tensor(7, "w");
        assert_eq!(again.normal().to_bits(), xs[0].to_bits());
        assert_ne!(
            Rng::for_tensor(7, "v").next_u64(),
            Rng::for_tensor(7, "w").next_u64()
        );
    }

    #[test]
    fn portable_math_matches_libm() {
        for x in [0.0, -0.3, -1.0, -4.2, -9.21] {
            assert!(
                (portable_exp(x) - x.exp()).abs() < 1e-12 * x.exp().max(1e-3),
                "exp {x}"
            );
        }
        for x in [0.0, 0.5, 3.0, 100.0, 1499.0] {
            let (s, c) = portable_sin_cos(x);
            assert!(
                (s - x.sin()).abs() < 1e-9 && (c - x.cos()).abs() < 1e-9,
                "sincos {x}"
            );
        }
    }
}
