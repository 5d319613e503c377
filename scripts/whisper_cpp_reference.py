#!/usr/bin/env python3
"""whisper.cpp on one thread, the reference of examples/bench_asr_reference: the libwhisper that
the pywhispercpp wheel bundles, driven through its bindings (no audio decoding, no threads of
its own).

    python whisper_cpp_reference.py MODEL.bin

Loads the ggml model, prints one JSON line (the library's system info), then for each line of
stdin, `PATH` or `PATH<TAB>AUDIO_CTX` (whisper.cpp's `audio_ctx`: encoder positions, 0 for the
whole 30 s window), with PATH (raw little-endian f32 samples at 16 kHz, `.f32`, as the benchmark writes what its own
engine decodes; or a 16 kHz mono 16-bit WAV) transcribes it with whisper.cpp's greedy defaults on one
thread (English, no timestamps, no context from the previous call) and prints one JSON line:
{"ms": wall time of whisper_full, "text": ...}. Stops at end of input.
"""
import json
import sys
import time
import wave

import numpy as np
import _pywhispercpp as pw


def samples(path):
    if path.endswith(".f32"):
        return np.fromfile(path, dtype="<f4").astype(np.float32)
    with wave.open(path, "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (16000, 1, 2):
            raise SystemExit(f"{path}: not 16 kHz mono 16-bit")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return (pcm.astype(np.float32) / 32768.0).copy()


def main():
    ctx = pw.whisper_init_from_file_with_params(sys.argv[1], pw.whisper_context_default_params())
    params = pw.whisper_full_default_params(pw.whisper_sampling_strategy.WHISPER_SAMPLING_GREEDY)
    params.n_threads = 1
    params.language = "en"
    params.no_timestamps = True
    params.no_context = True
    params.print_progress = False
    params.print_realtime = False
    params.print_timestamps = False
    params.print_special = False
    print(json.dumps({"system_info": pw.whisper_print_system_info()}), flush=True)
    for line in sys.stdin:
        fields = line.strip().split("\t")
        if not fields[0]:
            continue
        path = fields[0]
        params.audio_ctx = int(fields[1]) if len(fields) > 1 else 0
        audio = samples(path)
        started = time.perf_counter()
        pw.whisper_full(ctx, params, audio, audio.size)
        ms = (time.perf_counter() - started) * 1e3
        segments = [pw.whisper_full_get_segment_text(ctx, i) for i in range(pw.whisper_full_n_segments(ctx))]
        text = "".join(s.decode("utf-8", "replace") if isinstance(s, bytes) else s for s in segments)
        print(json.dumps({"ms": ms, "text": text.strip()}), flush=True)


if __name__ == "__main__":
    main()
