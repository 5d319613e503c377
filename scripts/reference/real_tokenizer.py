#!/usr/bin/env python3
"""HF transformers' token ids for the real chat checkpoints' own GGUF tokenizers: the reference of
the tokenizer tests in tests/llm_real.rs.

Usage (once; the output is committed):
    python scripts/reference/real_tokenizer.py [MODELS_DIR]
MODELS_DIR holds the files `cargo xtask real-models` fetches (default: models/real).

transformers rebuilds a tokenizer from a GGUF's metadata (`AutoTokenizer.from_pretrained(dir,
gguf_file=...)`): for Gemma's SentencePiece vocabulary a BPE with byte fallback whose merges come
from the vocabulary. For each string the JSON records the ids without special tokens, with them
(Gemma adds `<bos>`), and the decoded text of the first.

Writes tests/fixtures/llm/real/<model>.tokens.json.
"""
import json
import sys
from pathlib import Path

import transformers
from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
MODELS = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models" / "real"
OUT = ROOT / "tests" / "fixtures" / "llm" / "real"

TEXTS = [
    "Hello, world!",
    "What is the capital of France?",
    " a leading space, and  two   three    spaces",
    "trailing spaces   ",
    "line one\nline two\n\nafter a blank line\n\n\n",
    "tabs\tand\t\ttabs",
    "Numbers: 3.14159, 1,000,000 and 2026-12-07.",
    "café naïve résumé Ångström",
    "日本語のテキストと中文",
    "Emoji: 🙂🎉 and a rare one: 𓀀",
    "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n",
    "def f(x):\n    return x ** 2  # squared\n",
    "<b>bold</b> &amp; <br/>",
    "don't won't it's y'all",
    "ALL CAPS and MiXeD CaSe",
    "",
    " ",
    "\n",
    "a" * 40,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
]

MODELS_SPEC = ["gemma-3-270m-q4_k_m", "smollm2-135m-instruct-q4_1"]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name in MODELS_SPEC:
        tok = AutoTokenizer.from_pretrained(MODELS, gguf_file=f"{name}.gguf")
        cases = []
        for text in TEXTS:
            ids = tok(text, add_special_tokens=False).input_ids
            with_special = tok(text, add_special_tokens=True).input_ids
            decoded = tok.decode(ids)
            cases.append({"text": text, "ids": ids, "ids_with_special": with_special, "decoded": decoded})
            print(name, repr(text), ids[:12], repr(decoded) if decoded != text else "")
        doc = {
            "about": "HF transformers' tokenizer rebuilt from the GGUF (scripts/reference/real_tokenizer.py)",
            "transformers": transformers.__version__,
            "file": f"{name}.gguf",
            "cases": cases,
        }
        with open(OUT / f"{name}.tokens.json", "w") as f:
            json.dump(doc, f, indent=None, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
