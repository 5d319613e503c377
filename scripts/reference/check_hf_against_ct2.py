#!/usr/bin/env python3
"""Check a checkpoint converted by ct2_to_hf.py: HF transformers on the converted files must produce
the same greedy token ids as CTranslate2's own engine on the original model.bin, file by file
(full 30 s window, English). Prints each transcript; exits 1 on any difference.

Usage: python check_hf_against_ct2.py --hf DIR --ct2 DIR FILE.wav ...   (16 kHz mono 16-bit WAVs)
"""

import argparse
import sys
import wave

import ctranslate2
import numpy as np
import torch
from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperTokenizerFast


def read_pcm16_mono_16k(path):
    with wave.open(path) as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (16000, 1, 2):
            sys.exit(f"{path}: expected 16 kHz mono 16-bit (convert with `sox -D IN -r 16000 -c 1 -b 16 OUT`)")
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf", required=True)
    ap.add_argument("--ct2", required=True, help="directory with model.bin, config.json, vocabulary.txt")
    ap.add_argument("wavs", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = WhisperForConditionalGeneration.from_pretrained(args.hf, torch_dtype=torch.float32).eval()
    fe = WhisperFeatureExtractor.from_pretrained(args.hf)
    tok = WhisperTokenizerFast.from_pretrained(args.hf)
    multilingual = model.generation_config.is_multilingual
    ct2 = ctranslate2.models.Whisper(args.ct2, device="cpu", compute_type="float32", intra_threads=1)
    prompt = ["<|startoftranscript|>"] + (["<|en|>", "<|transcribe|>"] if multilingual else []) + ["<|notimestamps|>"]
    failures = 0
    for path in args.wavs:
        feats = fe(read_pcm16_mono_16k(path), sampling_rate=16000, return_tensors="pt").input_features
        kw = dict(language="en", task="transcribe") if multilingual else {}
        with torch.no_grad():
            hf_ids = model.generate(feats, num_beams=1, do_sample=False, **kw)[0].tolist()
        eot = model.generation_config.eos_token_id
        hf_text_ids = [i for i in hf_ids if i < eot]
        ct2_ids = ct2.generate(ctranslate2.StorageView.from_array(feats.numpy()), [prompt], beam_size=1)[0].sequences_ids[0]
        same = hf_text_ids == ct2_ids
        failures += not same
        print(f"{'same' if same else 'DIFFERENT'}  {path}: {tok.decode(hf_text_ids)!r}")
        if not same:
            print(f"  hf  {hf_text_ids}\n  ct2 {ct2_ids}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
