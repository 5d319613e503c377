#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into fuzz/corpus/<target>/: tiny files of each format,
made here (no model weights), plus a few small test fixtures of the repository. Run from the
repository root: `python3 fuzz/make_seeds.py`. The files are committed; rerunning rewrites them."""

import json
import os
import struct
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def put(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def fixture(*path):
    with open(os.path.join(FIXTURES, *path), "rb") as f:
        return f.read()


# --- GGUF (version 3) -------------------------------------------------------------------------

def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_value(kind, v):
    if kind == 8:
        return gguf_string(v)
    if kind == 9:
        inner, items = v
        return struct.pack("<IQ", inner, len(items)) + b"".join(gguf_value(inner, i) for i in items)
    fmt = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    return struct.pack("<" + fmt[kind], v)


def gguf(kvs, tensors, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, dims, ggml_type, data)]."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, kind, value in kvs:
        out += gguf_string(key) + struct.pack("<I", kind) + gguf_value(kind, value)
    offset, blobs = 0, b""
    for name, dims, kind, data in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", kind, offset)
        pad = (-len(data)) % alignment
        blobs += data + b"\0" * pad
        offset += len(data) + pad
    out += b"\0" * ((-len(out)) % alignment)
    return out + blobs


def gguf_seeds():
    kvs = [
        ("general.architecture", 8, "llama"),
        ("general.alignment", 4, 32),
        ("llama.block_count", 4, 1),
        ("llama.context_length", 10, 16),
        ("llama.embedding_length", 4, 32),
        ("llama.rope.freq_base", 6, 10000.0),
        ("some.flag", 7, True),
        ("some.i8", 1, -3),
        ("some.u16", 2, 7),
        ("some.i16", 3, -7),
        ("some.i32", 5, -9),
        ("some.i64", 11, -11),
        ("some.f64", 12, 0.5),
        ("tokenizer.ggml.model", 8, "gpt2"),
        ("tokenizer.ggml.tokens", 9, (8, ["a", "b", "ab", "<|im_end|>"])),
        ("tokenizer.ggml.token_type", 9, (5, [1, 1, 1, 3])),
        ("tokenizer.ggml.merges", 9, (8, ["a b"])),
        ("tokenizer.ggml.eos_token_id", 4, 3),
        ("tokenizer.chat_template", 8, "{% for m in messages %}{{ m.content }}<|im_end|>{% endfor %}"),
    ]
    f32 = struct.pack("<4f", 1.0, -2.0, 0.5, 0.0)
    f16 = struct.pack("<4e", 1.0, -2.0, 0.5, 0.0)
    q8_0 = struct.pack("<e", 0.1) + bytes(range(32))
    tensors = [
        ("output_norm.weight", [4], 0, f32),
        ("blk.0.attn_norm.weight", [2, 2], 1, f16),
        ("token_embd.weight", [32, 1], 8, q8_0),
    ]
    put("gguf", "header-all-types.gguf", gguf(kvs, tensors))
    put("gguf", "empty.gguf", gguf([], []))
    put("gguf", "whisper-names.gguf", gguf(
        [("general.architecture", 8, "whisper")],
        [("model.encoder.conv1.bias", [4], 0, f32), ("model.encoder.layer_norm.weight", [4], 1, f16[:8])],
    ))
    # general.alignment 1 and a header of odd length: the f32 tensor starts at an odd address,
    # which candle must not read in place (regression seed: a debug build panicked on it).
    for pad in range(4):
        kvs_odd = [("general.alignment", 4, 1), ("general.name", 8, "x" * pad)]
        odd = gguf(kvs_odd, [("model.encoder.conv1.bias", [4], 0, f32)], alignment=1)
        if (len(odd) - len(f32)) % 2 == 1:
            put("gguf", "unaligned-f32.gguf", odd)
            break
    # A whole (tiny, random-weight) chat model that loads: the loaders' deeper checks.
    put("gguf", "qwen2-q4_0.gguf", fixture("llm", "qwen2-q4_0.gguf"))


# --- safetensors: a whole Whisper of the safetensors target's tiny shape ----------------------

def safetensors(tensors, dtype="F32"):
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        if dtype == "F32":
            blob = struct.pack("<%df" % n, *[((i * 7) % 5 - 2) * 0.25 for i in range(n)])
        elif dtype == "F16":
            blob = struct.pack("<%de" % n, *[((i * 7) % 5 - 2) * 0.25 for i in range(n)])
        else:  # BF16: the top halves of f32s
            blob = b"".join(struct.pack("<f", ((i * 7) % 5 - 2) * 0.25)[2:] for i in range(n))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header).encode()
    text += b" " * ((-len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + data


def whisper_tensors(d=4, mels=2, ffn=8, vocab=8, src=4, tgt=4):
    t = [
        ("model.encoder.conv1.weight", [d, mels, 3]), ("model.encoder.conv1.bias", [d]),
        ("model.encoder.conv2.weight", [d, d, 3]), ("model.encoder.conv2.bias", [d]),
        ("model.encoder.embed_positions.weight", [src, d]),
        ("model.encoder.layer_norm.weight", [d]), ("model.encoder.layer_norm.bias", [d]),
        ("model.decoder.embed_tokens.weight", [vocab, d]),
        ("model.decoder.embed_positions.weight", [tgt, d]),
        ("model.decoder.layer_norm.weight", [d]), ("model.decoder.layer_norm.bias", [d]),
    ]

    def attention(p):
        out = []
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"]:
            out.append(("%s.%s.weight" % (p, proj), [d, d]))
            if proj != "k_proj":
                out.append(("%s.%s.bias" % (p, proj), [d]))
        return out

    def norm(p):
        return [(p + ".weight", [d]), (p + ".bias", [d])]

    for side in ["encoder", "decoder"]:
        p = "model.%s.layers.0" % side
        t += attention(p + ".self_attn") + norm(p + ".self_attn_layer_norm")
        if side == "decoder":
            t += attention(p + ".encoder_attn") + norm(p + ".encoder_attn_layer_norm")
        t += [(p + ".fc1.weight", [ffn, d]), (p + ".fc1.bias", [ffn]),
              (p + ".fc2.weight", [d, ffn]), (p + ".fc2.bias", [d])] + norm(p + ".final_layer_norm")
    return t


def safetensors_seeds():
    t = whisper_tensors()
    put("safetensors", "whisper-f32.safetensors", safetensors(t))
    put("safetensors", "whisper-f16.safetensors", safetensors(t, "F16"))
    put("safetensors", "whisper-bf16.safetensors", safetensors(t, "BF16"))
    put("safetensors", "one-tensor.safetensors", safetensors([("model.encoder.conv1.bias", [4])]))
    put("safetensors", "empty.safetensors", safetensors([]))


# --- CTranslate2 model.bin (binary version 6) -------------------------------------------------

def ct2_string(s):
    b = s.encode()
    return struct.pack("<H", len(b) + 1) + b + b"\0"


def ct2(spec, revision, variables, aliases):
    out = struct.pack("<I", 6) + ct2_string(spec) + struct.pack("<II", revision, len(variables))
    for name, shape, dtype, data in sorted(variables):
        out += ct2_string(name) + struct.pack("<B", len(shape))
        out += b"".join(struct.pack("<I", d) for d in shape)
        out += struct.pack("<BI", dtype, len(data)) + data
    out += struct.pack("<I", len(aliases))
    for alias, target in aliases:
        out += ct2_string(alias) + ct2_string(target)
    return out


def ct2_seeds():
    d = 4
    f32 = lambda n: struct.pack("<%df" % n, *[0.25 * (i % 3) for i in range(n)])
    f16 = lambda n: struct.pack("<%de" % n, *[0.25 * (i % 3) for i in range(n)])
    variables = [
        ("decoder/embeddings/weight", [8, d], 0, f32(8 * d)),
        ("decoder/layer_norm/gamma", [d], 4, f16(d)),
        ("decoder/layer_norm/beta", [d], 5, bytes(2 * d)),
        ("encoder/layer_0/ffn/linear_0/weight", [d, d], 1, bytes(range(d * d))),
        ("encoder/layer_0/ffn/linear_0/weight_scale", [d], 0, f32(d)),
        ("encoder/num_heads", [], 2, struct.pack("<h", 1)),
        ("decoder/num_heads", [], 3, struct.pack("<i", 1)),
        ("decoder/scale_embeddings", [], 1, b"\1"),
    ]
    alias = [("decoder/projection/weight", "decoder/embeddings/weight")]
    put("ctranslate2", "whisper-parts.bin", ct2("WhisperSpec", 3, variables, alias))
    put("ctranslate2", "whisper-rev2-empty.bin", ct2("WhisperSpec", 2, [], []))
    put("ctranslate2", "other-spec.bin", ct2("TransformerSpec", 1, variables[:2], []))


# --- WAV ----------------------------------------------------------------------------------------

def wav_pcm(rate, channels, width, frames):
    import io
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def wav_chunks(fmt_tag, channels, rate, bits, data, extensible_tag=None):
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    if extensible_tag is not None:
        guid = struct.pack("<H", extensible_tag) + bytes.fromhex("000000001000800000aa00389b71")
        fmt += struct.pack("<HHI", 22, bits, 0) + guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def wav_seeds():
    tone16 = b"".join(struct.pack("<h", (i * 2000) % 30000 - 15000) for i in range(64))
    put("wav", "mono-16k-i16.wav", wav_pcm(16000, 1, 2, tone16))
    put("wav", "stereo-44k-i16.wav", wav_pcm(44100, 2, 2, tone16))
    put("wav", "mono-8k-u8.wav", wav_pcm(8000, 1, 1, bytes(range(0, 256, 4))))
    put("wav", "mono-48k-i24.wav", wav_pcm(48000, 1, 3, bytes(range(96))))
    floats = struct.pack("<8f", 0.0, 0.5, -0.5, 1.0, -1.0, 0.25, float("nan"), float("inf"))
    # Regression seed: NaN and infinity at 22.05 kHz made the resampler's FFT panic.
    put("wav", "mono-22k-f32.wav", wav_chunks(3, 1, 22050, 32, floats))
    put("wav", "extensible-i16.wav", wav_chunks(0xFFFE, 2, 16000, 16, tone16[:32], 1))
    put("wav", "empty-16k.wav", wav_pcm(16000, 1, 2, b""))


# --- chat model tokenizer.json NUL tokenizer_config.json --------------------------------------

def chat_tokenizer_seeds():
    bpe = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 4, "content": "<|im_end|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": {"H": 0, "i": 1, "Hi": 2, "Ġ": 3, "<|im_end|>": 4},
                  "merges": ["H i"]},
    }
    chatml = {"bos_token": None, "eos_token": "<|im_end|>",
              "chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
                               "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>"
                               "assistant\n{% endif %}"}
    tiny = json.dumps(bpe).encode()
    put("chat_tokenizer", "bpe-chatml", tiny + b"\0" + json.dumps(chatml).encode())
    put("chat_tokenizer", "bpe-llama-config", tiny + b"\0" + fixture("llm", "llama-tokenizer_config.json"))
    put("chat_tokenizer", "bpe-qwen3-config", tiny + b"\0" + fixture("llm", "qwen3-tokenizer_config.json"))
    # Regression seed: JSON that breaks off inside `decoder` made tokenizers 0.23 panic.
    put("chat_tokenizer", "decoder-broken", b'{"decoder": {"type": ' + b"\0" + json.dumps(chatml).encode())
    with open(os.path.join(FIXTURES, "llm", "templates", "smollm2.jinja")) as f:
        smollm2 = {"bos_token": {"content": "<|im_start|>"}, "eos_token": {"content": "<|im_end|>"},
                   "chat_template": [{"name": "default", "template": f.read()}]}
    put("chat_tokenizer", "llama-tokenizer-smollm2", fixture("llm", "llama-tokenizer.json") + b"\0"
        + json.dumps(smollm2).encode())


# --- Whisper config.json NUL tokenizer.json ----------------------------------------------------

def whisper_json_seeds():
    specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|de|>", "<|translate|>",
                "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>",
                "<|notimestamps|>", "<|0.00|>"]
    vocab = {"a": 0, "Ġhello": 1}
    vocab.update({s: i + 2 for i, s in enumerate(specials)})
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True} for s in specials],
        "normalizer": None, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None,
        "decoder": None, "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "a"},
    }
    config = {"num_mel_bins": 80, "max_source_positions": 1500, "d_model": 4,
              "encoder_attention_heads": 1, "encoder_layers": 1, "vocab_size": 16,
              "max_target_positions": 448, "decoder_attention_heads": 2, "decoder_layers": 1,
              "suppress_tokens": [2, 3], "begin_suppress_tokens": [2],
              "decoder_start_token_id": 3, "eos_token_id": 2}
    put("whisper_json", "tiny-multilingual", json.dumps(config).encode() + b"\0" + json.dumps(tokenizer).encode())
    put("whisper_json", "fixture-config-only", fixture("asr", "config.json"))
    # Regression seed: a tokenizer.json broken inside `decoder` (tokenizers 0.23 panicked).
    put("whisper_json", "decoder-broken", json.dumps(config).encode() + b'\0{"decoder": [}')
    english = dict(config, vocab_size=51864)
    put("whisper_json", "english-only", json.dumps(english).encode() + b"\0" + json.dumps(tokenizer).encode())


if __name__ == "__main__":
    gguf_seeds()
    safetensors_seeds()
    ct2_seeds()
    wav_seeds()
    chat_tokenizer_seeds()
    whisper_json_seeds()
