#!/usr/bin/env python3
"""Greedy ids of real whisper-tiny.en on tests/fixtures/asr/hello_16k.wav, for
tests/asr_english_only.rs: the English-only prompt (<|startoftranscript|><|notimestamps|>, no
language or task token, as openai-whisper builds it for n_vocab < 51865) against the multilingual
prompt the published tokenizer.json would suggest (<|startoftranscript|><|en|><|transcribe|>
<|notimestamps|>), both with HF transformers on the full 30 s window, and openai-whisper's rules
(suppress_tokens, blank suppression at the first step).

Usage: python scripts/reference/whisper_english_only.py --model HF_DIR/whisper-tiny.en \
          --out tests/fixtures/asr/real_tiny_en_hello.json
"""

import argparse
import json
import wave

import numpy as np
import torch
import transformers
from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperTokenizerFast

WAV = "tests/fixtures/asr/hello_16k.wav"


def greedy(model, encoded, prompt, suppress, first_suppress, eot, limit=64):
    ids = list(prompt)
    with torch.no_grad():
        for step in range(limit):
            logits = model(encoder_outputs=(encoded,), decoder_input_ids=torch.tensor([ids])).logits[0, -1]
            logits[suppress] = -float("inf")
            if step == 0:
                logits[first_suppress] = -float("inf")
            token = int(logits.argmax())
            ids.append(token)
            if token == eot:
                break
    return ids[len(prompt):]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="an HF whisper-tiny.en folder made by ct2_to_hf.py")
    ap.add_argument("--out", default="tests/fixtures/asr/real_tiny_en_hello.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with wave.open(WAV) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    model = WhisperForConditionalGeneration.from_pretrained(args.model, torch_dtype=torch.float32).eval()
    tok = WhisperTokenizerFast.from_pretrained(args.model)
    fe = WhisperFeatureExtractor.from_pretrained(args.model)
    cfg = model.config
    assert cfg.vocab_size < 51865, "an English-only checkpoint"
    special = lambda t: tok.convert_tokens_to_ids(t)
    sot, eot, no_ts = cfg.decoder_start_token_id, cfg.eos_token_id, special("<|notimestamps|>")
    # Every timestamp token is suppressed without timestamps (openai-whisper's ApplyTimestampRules
    # is off; SuppressTokens also drops the task and start tokens).
    suppress = sorted(set(cfg.suppress_tokens) | {special("<|transcribe|>"), special("<|translate|>"), sot,
                      special("<|startofprev|>"), special("<|startoflm|>"), special("<|nospeech|>")}
                      | set(range(no_ts + 1, cfg.vocab_size)))
    first_suppress = list(cfg.begin_suppress_tokens)
    feats = fe(pcm, sampling_rate=16000, return_tensors="pt").input_features
    with torch.no_grad():
        encoded = model.model.encoder(feats).last_hidden_state
    prompts = {
        "english_only": [sot, no_ts],
        "with_language_tokens": [sot, special("<|en|>"), special("<|transcribe|>"), no_ts],
    }
    out = {
        "about": "HF transformers greedy ids of real whisper-tiny.en (f32 from the f16 checkpoint) on "
        f"{WAV}, full 30 s window, by scripts/reference/whisper_english_only.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }
    for name, prompt in prompts.items():
        ids = greedy(model, encoded, prompt, suppress, first_suppress, eot)
        text = tok.decode([t for t in ids if t < eot]).strip()
        out[name] = {"prompt": prompt, "ids": ids, "text": text}
        print(name, prompt, ids, repr(text))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
