#!/usr/bin/env python3
"""A tiny random Gemma 3 built with HF transformers, written as the GGUF llama.cpp's converter
would write, with HF's logits and greedy ids: the parity fixture of src/llm/gemma3.rs.

Usage (once; the outputs are committed): python scripts/reference/gemma3_tiny.py
Writes tests/fixtures/llm/gemma3-f16.gguf, gemma3.reference.json (prompt, HF's greedy ids and
each step's top-2 margin) and gemma3-f16.hf_logits.f32: HF's logits at every position of the
greedy sequence (raw little-endian f32, [positions, vocab]), so a test can check a prefill and
each decode step through the KV cache.

The shape is chosen so every Gemma 3 feature shows in a short prompt: a sliding window of 4
(the prompt is 12 tokens, so the local layers forget most of it), 7 layers (layer 5 global,
the others local: HF's pattern of 6), 4 query heads of 16 over 2 key-value heads (q width 64
differs from the hidden 32, as 1024 differs from 640 in the 270M), distinct rotary bases for
the two kinds of layer, random (not unit) norm weights so a missing `1 +` shows, and a tied
embedding. The matrices are rounded to f16 before HF sees them, so the GGUF holds exactly HF's
weights in half the bytes.
"""
import json
from pathlib import Path

import numpy as np
import torch
import gguf
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "llm"
PROMPT = [2, 17, 200, 33, 91, 5, 250, 64, 128, 7, 77, 190]
GREEDY_STEPS = 10

torch.manual_seed(20260303)
config = Gemma3TextConfig(
    vocab_size=256,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=7,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    query_pre_attn_scalar=16,
    sliding_window=4,
    max_position_embeddings=512,
    rms_norm_eps=1e-6,
    rope_parameters={
        "full_attention": {"rope_type": "default", "rope_theta": 1_000_000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
    },
    tie_word_embeddings=True,
    attn_implementation="eager",
    pad_token_id=0,
    bos_token_id=2,
    eos_token_id=1,
)
assert config.layer_types[5] == "full_attention" and config.layer_types.count("full_attention") == 1
model = Gemma3ForCausalLM(config).eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("norm.weight"):
            p.copy_(torch.randn_like(p) * 0.3)  # HF multiplies by (1 + w)
        else:
            p.copy_((torch.randn_like(p) * 0.25).half().float())

# llama.cpp's names (gguf-py's tensor map for MODEL_ARCH.GEMMA3) and its `+ 1` on the norms.
names = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm", "input_layernorm": "attn_norm",
    "post_attention_layernorm": "post_attention_norm", "pre_feedforward_layernorm": "ffn_norm",
    "post_feedforward_layernorm": "post_ffw_norm", "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}
writer = gguf.GGUFWriter(str(OUT / "gemma3-f16.gguf"), "gemma3")
writer.add_name("Gemma 3 tiny random (parity fixture)")
writer.add_context_length(config.max_position_embeddings)
writer.add_embedding_length(config.hidden_size)
writer.add_block_count(config.num_hidden_layers)
writer.add_feed_forward_length(config.intermediate_size)
writer.add_head_count(config.num_attention_heads)
writer.add_head_count_kv(config.num_key_value_heads)
writer.add_key_length(config.head_dim)
writer.add_value_length(config.head_dim)
writer.add_rope_freq_base(1_000_000.0)
writer.add_layer_norm_rms_eps(config.rms_norm_eps)
writer.add_sliding_window(config.sliding_window)
writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
for name, p in model.state_dict().items():
    if name == "lm_head.weight":
        continue  # tied
    x = p.detach().numpy().astype(np.float32)
    if name.endswith("norm.weight"):
        out = x + 1.0
    else:
        out = x.astype(np.float16)
    if name == "model.embed_tokens.weight":
        gname = "token_embd.weight"
    elif name == "model.norm.weight":
        gname = "output_norm.weight"
    else:
        _, _, i, rest = name.split(".", 3)
        gname = f"blk.{i}.{names[rest.removesuffix('.weight')]}.weight"
    writer.add_tensor(gname, out)
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()

with torch.no_grad():
    ids = torch.tensor([PROMPT])
    greedy = model.generate(ids, max_new_tokens=GREEDY_STEPS, do_sample=False, min_new_tokens=GREEDY_STEPS)
    greedy = greedy[0].tolist()
    logits = model(torch.tensor([greedy])).logits[0].float().numpy()
    (OUT / "gemma3-f16.hf_logits.f32").write_bytes(logits.astype("<f4").tobytes())
    # Each step's top-2 margin, recomputed without the cache.
    margins = []
    for n in range(len(PROMPT), len(greedy)):
        top = torch.topk(model(torch.tensor([greedy[:n]])).logits[0, -1], 2).values
        margins.append(round(float(top[0] - top[1]), 4))

json.dump(
    {
        "about": "tiny random Gemma 3 (scripts/reference/gemma3_tiny.py), HF transformers f32 eager",
        "prompt_ids": PROMPT,
        "greedy_ids": greedy,
        "greedy_margins": margins,
        "vocab": config.vocab_size,
    },
    open(OUT / "gemma3.reference.json", "w"),
    indent=1,
)
print("wrote", OUT, "margins", margins)
