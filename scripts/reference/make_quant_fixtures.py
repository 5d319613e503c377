#!/usr/bin/env python3
"""Reference dequantization of every GGML block type Sotto reads, from the `gguf` Python package.

Writes tests/fixtures/quant/dequantize_reference.json, read by tests/quant_dequantize.rs: for each
type, a few blocks of bytes and the f32 values gguf's `dequantize` gives for them, bit for bit.

- Random blocks: random bytes for the quantized values and packed sub-block scales, with sane f16
  scales (|d| in [1e-3, 0.1], minimums in [-1, 1]), so every bit of every field is exercised but
  no block decodes to infinities. bf16 and f16 get extreme and special values too (subnormals,
  infinities, a NaN, -0).
- Real blocks, where a real file is at hand: SmolLM2-135M-Instruct.Q4_1.gguf (Apache-2.0; q4_1
  layers, q8_0 embedding), a few blocks from the start and the middle of a tensor.
- For the Gemma 3 270M Q4_K_M file (Gemma terms: its bytes are not copied here), the sha256 of
  gguf's dequantization of the first blocks of one tensor of each type (q5_0, q4_k, q6_k, q8_0),
  which tests/quant_real_files.rs compares with ours on the file in models/real/.

Run once, from the repository root, with the project venv (numpy, gguf):
    python scripts/reference/make_quant_fixtures.py \
        --smollm2 models/real/smollm2-135m-instruct-q4_1.gguf \
        --gemma models/real/gemma-3-270m-q4_k_m.gguf
"""

import argparse
import hashlib
import importlib.metadata
import json
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

RNG = np.random.default_rng(20250721)


def f16_bytes(values):
    return np.asarray(values, dtype=np.float16).view(np.uint8)


def scale(n, lo=1e-3, hi=0.1, signed=True):
    mag = np.exp(RNG.uniform(np.log(lo), np.log(hi), n))
    return mag * (RNG.choice([-1.0, 1.0], n) if signed else 1.0)


def random_bytes(n):
    return RNG.integers(0, 256, n, dtype=np.uint8)


def random_block(qtype):
    """One random block of `qtype` with sane f16 scales, fields in ggml's order."""
    d = lambda: f16_bytes(scale(1))
    dmin = lambda: f16_bytes(scale(1, signed=False))
    m = lambda: f16_bytes(RNG.uniform(-1.0, 1.0, 1))
    parts = {
        T.Q4_0: lambda: [d(), random_bytes(16)],
        T.Q4_1: lambda: [d(), m(), random_bytes(16)],
        T.Q5_0: lambda: [d(), random_bytes(4), random_bytes(16)],
        T.Q5_1: lambda: [d(), m(), random_bytes(4), random_bytes(16)],
        T.Q8_0: lambda: [d(), random_bytes(32)],
        # scales (4-bit scale | 4-bit min), qs, d, dmin
        T.Q2_K: lambda: [random_bytes(16), random_bytes(64), d(), dmin()],
        # hmask, qs, 6-bit scales packed in 12 bytes, d
        T.Q3_K: lambda: [random_bytes(32), random_bytes(64), random_bytes(12), d()],
        # d, dmin, 6-bit scales and mins in 12 bytes, qs
        T.Q4_K: lambda: [d(), dmin(), random_bytes(12), random_bytes(128)],
        # d, dmin, scales, qh, qs
        T.Q5_K: lambda: [d(), dmin(), random_bytes(12), random_bytes(32), random_bytes(128)],
        # ql, qh, i8 scales, d
        T.Q6_K: lambda: [random_bytes(128), random_bytes(64), random_bytes(16), d()],
    }[qtype]()
    block = np.concatenate(parts).astype(np.uint8)
    assert block.size == GGML_QUANT_SIZES[qtype][1], qtype
    return block


def float_values(qtype):
    """Values for the float types: ordinary ones, then extremes and specials."""
    ordinary = RNG.normal(0.0, 1.0, 24).astype(np.float32)
    special = np.array(
        [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-42, 3.0e38, 65504.0, 6e-8, 1e-5, -2.5],
        dtype=np.float32,
    )
    values = np.concatenate([ordinary, special])
    if qtype == T.F16:
        return values.astype(np.float16).view(np.uint8)
    # bf16 as ggml rounds it (gguf's BF16.quantize), NaN kept quiet.
    return gguf.quants.quantize(values, T.BF16).view(np.uint8)


def case(qtype, data, source):
    values = gguf.quants.dequantize(data, qtype).astype(np.float32)
    return {
        "type": qtype.name,
        "ggml_type": int(qtype),
        "source": source,
        "bytes": data.tobytes().hex(),
        "f32_le": values.tobytes().hex(),
    }


def tensor_blocks(reader, name, blocks):
    """The bytes of `blocks` (a range of block indices) of tensor `name`, as stored."""
    t = next(t for t in reader.tensors if t.name == name)
    block_bytes = GGML_QUANT_SIZES[t.tensor_type][1]
    raw = np.asarray(t.data).view(np.uint8).reshape(-1)
    return t.tensor_type, raw[blocks.start * block_bytes : blocks.stop * block_bytes].copy()


def real_cases(path):
    reader = gguf.GGUFReader(path)
    out = []
    for name, blocks in [
        ("blk.0.ffn_down.weight", range(0, 3)),
        ("blk.14.attn_q.weight", range(5000, 5002)),
        ("token_embd.weight", range(18 * 1000, 18 * 1000 + 2)),
    ]:
        qtype, data = tensor_blocks(reader, name, blocks)
        source = f"SmolLM2-135M-Instruct.Q4_1.gguf {name} blocks {blocks.start}..{blocks.stop}"
        out.append(case(qtype, data, source))
    return out


def gemma_digests(path):
    reader = gguf.GGUFReader(path)
    out = []
    for name, n_blocks in [
        ("blk.0.attn_q.weight", 64),  # q5_0
        ("blk.0.attn_output.weight", 16),  # q4_k
        ("blk.0.ffn_down.weight", 16),  # q6_k
        ("blk.0.attn_v.weight", 64),  # q8_0
        ("token_embd.weight", 64),  # q8_0, the tied output layer
    ]:
        qtype, data = tensor_blocks(reader, name, range(0, n_blocks))
        values = gguf.quants.dequantize(data, qtype).astype(np.float32)
        out.append({
            "tensor": name,
            "type": qtype.name,
            "values": int(values.size),
            "f32_le_sha256": hashlib.sha256(values.tobytes()).hexdigest(),
            "sum": float(values.astype(np.float64).sum()),
        })
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smollm2", required=True, help="SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--gemma", required=True, help="gemma-3-270m-q4_k_m.gguf")
    parser.add_argument("--out", default="tests/fixtures/quant/dequantize_reference.json")
    args = parser.parse_args()
    cases = []
    for qtype in [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]:
        n = 3 if GGML_QUANT_SIZES[qtype][0] == 32 else 2
        data = np.concatenate([random_block(qtype) for _ in range(n)])
        cases.append(case(qtype, data, f"random, {n} blocks"))
    for qtype in [T.F16, T.BF16]:
        cases.append(case(qtype, float_values(qtype), "random and special values"))
    cases += real_cases(args.smollm2)
    fixture = {
        "generator": "scripts/reference/make_quant_fixtures.py",
        "gguf_version": importlib.metadata.version("gguf"),
        "numpy_version": np.__version__,
        "cases": cases,
        "gemma3_270m_q4_k_m_digests": gemma_digests(args.gemma),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"{out}: {len(cases)} cases, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
