#!/usr/bin/env python3
"""HF transformers' greedy replies on the real chat checkpoints: the reference of tests/llm_real.rs.

Usage (once; the outputs are committed):
    python scripts/reference/real_greedy.py [MODELS_DIR]
MODELS_DIR holds the files `cargo xtask real-models` fetches (default: models/real). Needs
transformers, torch, gguf and accelerate (transformers refuses GGUF files without it).

transformers loads each GGUF with `from_pretrained(dir, gguf_file=...)`, which dequantizes every
tensor to f32 (its GGUF support maps llama.cpp's names back and undoes the converter's `+ 1` on
Gemma's norm weights), then decodes greedily with f32 activations. For each prompt the JSON
records the prompt ids (HF's tokenizer from the same GGUF, through the chat template), the
generated ids (up to MAX_NEW_TOKENS, ending with the end-of-turn token if one came), and each
step's top-2 logit margin: past a small margin a correct implementation with other rounding
(ours quantizes activations to 8 bits, as llama.cpp does) may choose the other token.

Writes tests/fixtures/llm/real/<model>.greedy.json.
"""
import hashlib
import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
MODELS = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models" / "real"
OUT = ROOT / "tests" / "fixtures" / "llm" / "real"
MAX_NEW_TOKENS = 40

QUESTIONS = [
    "What is the capital of France?",
    "Give me one tip for sleeping better.",
    "How many legs does a spider have?",
    "Tell me a short joke about computers.",
    "What should I cook for dinner tonight?",
    "Explain what a rainbow is in one sentence.",
    "Translate 'good morning' into Spanish.",
]

# Gemma 3's official chat template (the -it models' tokenizer_config.json), for a single user turn:
# `{{ bos_token }}<start_of_turn>user\n{{ content | trim }}<end_of_turn>\n<start_of_turn>model\n`.
# The pre-trained 270M file carries no template, so the text is built here.
GEMMA_TURN = "<bos><start_of_turn>user\n{}<end_of_turn>\n<start_of_turn>model\n"
# Plain continuations too: what a pre-trained model was trained on.
GEMMA_RAW = ["<bos>The capital of France is", "<bos>Here is a recipe for pancakes:"]

MODELS_SPEC = {
    "smollm2-135m-instruct-q4_1": {"stop": ["<|im_end|>"]},
    "gemma-3-270m-q4_k_m": {"stop": ["<eos>", "<end_of_turn>"]},
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def greedy(model, ids, stop_ids):
    with torch.no_grad():
        out = model.generate(
            torch.tensor([ids]),
            max_new_tokens=MAX_NEW_TOKENS,
            do_sample=False,
            eos_token_id=stop_ids,
            pad_token_id=stop_ids[0],
            return_dict_in_generate=True,
            output_logits=True,
        )
    new = out.sequences[0, len(ids):].tolist()
    margins = []
    for logits in out.logits:
        top = torch.topk(logits[0].float(), 2).values
        margins.append(round(float(top[0] - top[1]), 4))
    return new, margins


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, spec in MODELS_SPEC.items():
        file = f"{name}.gguf"
        path = MODELS / file
        tok = AutoTokenizer.from_pretrained(MODELS, gguf_file=file)
        model = AutoModelForCausalLM.from_pretrained(MODELS, gguf_file=file, dtype=torch.float32).eval()
        stop_ids = [tok.convert_tokens_to_ids(t) for t in spec["stop"]]
        cases = []
        if name.startswith("gemma"):
            prompts = [{"user": q, "text": GEMMA_TURN.format(q.strip())} for q in QUESTIONS]
            prompts += [{"text": t} for t in GEMMA_RAW]
            for p in prompts:
                p["prompt_ids"] = tok(p["text"], add_special_tokens=False).input_ids
        else:
            prompts = []
            for q in QUESTIONS:
                messages = [{"role": "user", "content": q}]
                ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
                if isinstance(ids, dict) or hasattr(ids, "input_ids"):
                    ids = ids["input_ids"]
                prompts.append({"user": q, "prompt_ids": list(ids)})
        for p in prompts:
            ids, margins = greedy(model, p["prompt_ids"], stop_ids)
            p["greedy_ids"] = ids
            p["greedy_margins"] = margins
            p["reply"] = tok.decode(ids)
            print(name, repr(p.get("user", p.get("text"))), "->", repr(p["reply"]), "min margin", min(margins))
            cases.append(p)
        doc = {
            "about": "HF transformers greedy decoding, f32 on the dequantized GGUF (scripts/reference/real_greedy.py)",
            "transformers": transformers.__version__,
            "file": file,
            "sha256": sha256(path),
            "stop_ids": stop_ids,
            "max_new_tokens": MAX_NEW_TOKENS,
            "cases": cases,
        }
        with open(OUT / f"{name}.greedy.json", "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
