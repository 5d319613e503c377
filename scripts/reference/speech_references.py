#!/usr/bin/env python3
"""Reference transcripts of the real-speech test set, made once with HF transformers and committed
as tests/fixtures/speech/reference.json.

Each file of target/speech-set/ (render it with `cargo xtask speech-set`) is converted to 16 kHz
mono float by `sox -D FILE -r 16000 -c 1` (sox's high-quality resampler; channels averaged), padded
to the full 30 s window by the HF feature extractor, and decoded greedily: tiny.en as is (no
language or task token: it is English-only), base with language=en, task=transcribe. The WER of
each model against the intended sentences uses openai-whisper's EnglishTextNormalizer.

Usage: python speech_references.py --set target/speech-set --hf HF_DIR \
          --out tests/fixtures/speech/reference.json
(--hf holds whisper-tiny.en/ and whisper-base/ as made by ct2_to_hf.py.)
"""

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import jiwer
import numpy as np
import torch
import transformers
from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperTokenizerFast
from whisper.normalizers import EnglishTextNormalizer

MODELS = {
    "whisper-tiny.en": {},
    "whisper-base": {"language": "en", "task": "transcribe"},
}


def load_16k_mono(path: Path) -> np.ndarray:
    raw = subprocess.run(
        ["sox", "-D", str(path), "-t", "raw", "-r", "16000", "-c", "1", "-b", "32", "-e", "floating-point", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").copy()


def read_manifest(path: Path):
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        file_id, sha, text = line.split("\t")
        rows.append((file_id, sha, text))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="target/speech-set")
    ap.add_argument("--hf", required=True, help="folder of HF checkpoints made by ct2_to_hf.py")
    ap.add_argument("--out", default="tests/fixtures/speech/reference.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    set_dir = Path(args.set)
    manifest = set_dir / "manifest.tsv"
    rows = read_manifest(manifest)
    for file_id, sha, _ in rows:
        got = hashlib.sha256((set_dir / f"{file_id}.wav").read_bytes()).hexdigest()
        if got != sha:
            sys.exit(f"{file_id}.wav does not match {manifest}: render the set again")
    audio = {file_id: load_16k_mono(set_dir / f"{file_id}.wav") for file_id, _, _ in rows}
    normalizer = EnglishTextNormalizer()
    out = {
        "about": "HF transformers greedy transcripts of target/speech-set (scripts/reference/speech_references.py): "
        "sox -D to 16 kHz mono, full 30 s window, greedy; tiny.en without language/task tokens, "
        "base with language=en task=transcribe. WER: openai-whisper EnglishTextNormalizer, "
        "corpus WER = edits / reference words over the speech files.",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest(),
        "models": {},
    }
    for model_name, kwargs in MODELS.items():
        model_dir = Path(args.hf) / model_name
        model = WhisperForConditionalGeneration.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
        fe = WhisperFeatureExtractor.from_pretrained(model_dir)
        tok = WhisperTokenizerFast.from_pretrained(model_dir)
        eot = model.generation_config.eos_token_id
        files = {}
        refs, hyps = [], []
        started = time.time()
        for file_id, _, intended in rows:
            feats = fe(audio[file_id], sampling_rate=16000, return_tensors="pt").input_features
            with torch.no_grad():
                ids = model.generate(feats, num_beams=1, do_sample=False, **kwargs)[0].tolist()
            text_ids = [i for i in ids if i < eot]
            text = tok.decode(text_ids).strip()
            files[file_id] = {"text": text, "ids": text_ids}
            if intended:
                refs.append(normalizer(intended))
                hyps.append(normalizer(text))
            print(f"{model_name} {file_id}: {text!r}", flush=True)
        measures = jiwer.process_words(refs, hyps)
        edits = measures.substitutions + measures.deletions + measures.insertions
        words = sum(len(r.split()) for r in refs)
        no_speech_with_text = sorted(f for f, _, t in rows if not t and files[f]["text"])
        out["models"][model_name] = {
            "options": kwargs or {"language": None, "task": None},
            "wer": round(edits / words, 4),
            "edits": edits,
            "reference_words": words,
            "no_speech_files_with_text": no_speech_with_text,
            "seconds": round(time.time() - started, 1),
            "files": files,
        }
        print(f"{model_name}: WER {edits}/{words} = {edits / words:.4f}; no-speech with text: {no_speech_with_text}")
    Path(args.out).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
