#!/usr/bin/env python3
"""A tiny random Qwen3 built with transformers, its f32 GGUF from llama.cpp's converter, and the
reference outputs the Qwen3 parity tests compare with (tests/llm_qwen3.rs).

Made once; the outputs are committed under tests/fixtures/llm/ (CI never runs torch):
  qwen3-f32.gguf                      llama.cpp's convert_hf_to_gguf.py, --outtype f32
  qwen3-tokenizer.json, qwen3-tokenizer_config.json (the Qwen3 chat template)
  qwen3.reference.json                prompt ids, greedy ids (prompt + 32 raw-argmax steps, EOS
                                      ignored, with each step's top-2 margin), chat conversations
                                      rendered by apply_chat_template(..., enable_thinking=False)
                                      as text and ids
  qwen3-f32.hf_prompt_logits.f32      HF logits of every prompt position [T, vocab], little-endian
  qwen3-f32.hf_chat_last_logits.f32   HF logits of the last position of the first conversation

The approach is that of the earlier llama/qwen2 fixtures (the parity data's make_llm.py): a
byte-level BPE trained offline on the machine's licence texts, vocabulary 1024 with the specials
at the end, hidden 64, 2 layers, 4 heads, 2 KV heads, head_dim 16; weights N(0, 0.25), norm
weights 1 + N(0, 0.1) (the q/k norms too, so a q/k-norm bug cannot hide).

Usage: LLAMA_CPP_DIR=/path/to/llama.cpp python scripts/reference/make_qwen3.py OUT_DIR
llama.cpp's converter comes from the llama-cpp-python source distribution on PyPI
(`pip download --no-deps --no-binary=llama-cpp-python llama-cpp-python==0.3.36`, extract it,
LLAMA_CPP_DIR=.../vendor/llama.cpp); it is not kept in this repository.
"""
import glob
import json
import os
import runpy
import subprocess
import sys

import numpy as np
import torch

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
PAT_QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
VOCAB = 1024
# Qwen3's specials (special=True) and its think tags (added, special=False, as in the hub files).
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
THINK = ["<think>", "</think>"]
SEED = 0
STEPS = 32

CONVERSATIONS = [
    [{"role": "user", "content": "What is the GNU General Public License?"}],
    [{"role": "system", "content": "You are a voice assistant. Be brief."},
     {"role": "user", "content": "Why is the sky blue?"}],
    [{"role": "system", "content": "Be brief."},
     {"role": "user", "content": "Hello there!"},
     {"role": "assistant", "content": "Hi! How can I help?"},
     {"role": "user", "content": "Tell me a fact about the moon."}],
    # A reply that thought aloud: the template keeps only its answer in the history.
    [{"role": "user", "content": "2+2?"},
     {"role": "assistant", "content": "<think>\nadd them\n</think>\n\nFour."},
     {"role": "user", "content": "And 3+3?"}],
]


def corpus_files():
    files = [f for f in sorted(glob.glob("/usr/share/common-licenses/*"))
             if os.path.isfile(f) and not os.path.islink(f)]
    import argparse, textwrap, json as _json
    return files + [_json.__file__.replace("__init__.py", "decoder.py"), argparse.__file__, textwrap.__file__]


def make_tokenizer():
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
    from tokenizers.models import BPE
    tk = Tokenizer(BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tk.normalizer = normalizers.NFC()
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PAT_QWEN2), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - len(SPECIALS) - len(THINK), min_frequency=2,
                                  show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[])
    tk.train(corpus_files(), trainer)
    tk.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    tk.add_tokens([AddedToken(s, special=False, normalized=False) for s in THINK])
    tk.post_processor = processors.ByteLevel(trim_offsets=False)
    assert tk.get_vocab_size(with_added_tokens=True) == VOCAB
    return tk


def build(hf_dir):
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM
    tk = make_tokenizer()
    template = open(os.path.join(HERE, "../../tests/fixtures/llm/templates/qwen3.jinja")).read()
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                     bos_token=None, chat_template=template, model_max_length=512)
    ids = {s: tk.token_to_id(s) for s in SPECIALS + THINK}
    rope = {"rope_type": "default", "rope_theta": 1000000.0}
    cfg = Qwen3Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=512,
                      initializer_range=0.25, rms_norm_eps=1e-6, tie_word_embeddings=True,
                      rope_parameters=rope, use_sliding_window=False, max_window_layers=2,
                      bos_token_id=None, eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    torch.manual_seed(SEED)
    model = Qwen3ForCausalLM(cfg).eval().float()
    g = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith(".weight"):
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)
    model.save_pretrained(hf_dir)
    hf_tok.save_pretrained(hf_dir)
    # As a hub repo written by transformers 4.x: top-level rope keys, the template in
    # tokenizer_config.json, a tokenizer class every version knows.
    cj = json.load(open(os.path.join(hf_dir, "config.json")))
    cj["rope_theta"] = rope["rope_theta"]
    cj["rope_scaling"] = None
    cj["sliding_window"] = None
    json.dump(cj, open(os.path.join(hf_dir, "config.json"), "w"), indent=2, sort_keys=True)
    tj = json.load(open(os.path.join(hf_dir, "tokenizer_config.json")))
    tj["tokenizer_class"] = "PreTrainedTokenizerFast"
    tj["chat_template"] = template
    json.dump(tj, open(os.path.join(hf_dir, "tokenizer_config.json"), "w"), indent=2)
    return tk, hf_tok, model, ids


def convert(hf_dir, out_file):
    """llama.cpp's own converter; only the tokenizer's pre-type (unknown by hash) is fixed."""
    llama_cpp = os.environ["LLAMA_CPP_DIR"]
    code = (
        "import os, runpy, sys\n"
        f"sys.path.insert(0, {os.path.join(llama_cpp, 'gguf-py')!r}); sys.path.insert(0, {llama_cpp!r})\n"
        "os.environ['NO_LOCAL_GGUF'] = '1'\n"
        "import conversion.base as base\n"
        "base.TextModel.get_vocab_base_pre = lambda self, tokenizer: 'qwen2'\n"
        f"sys.argv = ['convert_hf_to_gguf.py', {hf_dir!r}, '--outtype', 'f32', '--outfile', {out_file!r}]\n"
        f"runpy.run_path({os.path.join(llama_cpp, 'convert_hf_to_gguf.py')!r}, run_name='__main__')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def main():
    import tempfile
    import transformers
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    hf_dir = tempfile.mkdtemp(prefix="qwen3-tiny-")
    tk, hf_tok, model, ids = build(hf_dir)
    convert(hf_dir, os.path.join(out, "qwen3-f32.gguf"))

    from transformers import AutoModelForCausalLM, AutoTokenizer
    at = AutoTokenizer.from_pretrained(hf_dir)
    reloaded = AutoModelForCausalLM.from_pretrained(hf_dir).eval()
    prompt_text = "The quick brown fox jumps over the lazy dog. Licensed under the Apache License, Version 2.0"
    prompt = tk.encode(prompt_text).ids
    assert at(prompt_text)["input_ids"] == prompt
    seq, margins = list(prompt), []
    with torch.no_grad():
        for step in range(STEPS):  # no KV cache: the simplest possible reference
            logits = reloaded(torch.tensor([seq])).logits[0]
            if step == 0:
                prompt_logits = logits.numpy().astype("<f4")
            top = torch.topk(logits[-1], 2)
            margins.append(float(top.values[0] - top.values[1]))
            seq.append(int(top.indices[0]))
        chats = []
        for messages in CONVERSATIONS:
            text = at.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=False)
            chat_ids = tk.encode(text, add_special_tokens=False).ids
            chats.append({"messages": messages, "text": text, "ids": chat_ids})
        chat_last = reloaded(torch.tensor([chats[0]["ids"]])).logits[0, -1].numpy().astype("<f4")
    prompt_logits.tofile(os.path.join(out, "qwen3-f32.hf_prompt_logits.f32"))
    chat_last.tofile(os.path.join(out, "qwen3-f32.hf_chat_last_logits.f32"))
    import shutil
    shutil.copy(os.path.join(hf_dir, "tokenizer.json"), os.path.join(out, "qwen3-tokenizer.json"))
    shutil.copy(os.path.join(hf_dir, "tokenizer_config.json"), os.path.join(out, "qwen3-tokenizer_config.json"))
    ref = {
        "made_by": "scripts/reference/make_qwen3.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "special_ids": ids, "eos": ids["<|im_end|>"], "vocab": VOCAB,
        "prompt_text": prompt_text, "prompt_ids": prompt, "greedy_ids": seq,
        "greedy_top2_margins": margins,
        "chats": chats,
    }
    json.dump(ref, open(os.path.join(out, "qwen3.reference.json"), "w"), indent=1)
    print(json.dumps({"greedy_new": seq[len(prompt):], "min_margin": min(margins), "chat0": chats[0]["text"]}))


if __name__ == "__main__":
    main()
