//! bf16 GGUF files end to end: the tiny llama of the parity data with every tensor (matrices,
//! the embedding table, the norms) stored as bf16 loads and runs, and its logits are exactly
//! those of the same model with the bf16 values stored as f32; both stay near Hugging Face's f32
//! logits (bf16 keeps 8 bits of mantissa).

mod llm_common;

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::GgmlDType;
use llm_common::{fixture, logits, max_abs_diff, reference};
use sotto::gguf::GgufFile;
use sotto::llm::Model;
use sotto::testmodels::{write_gguf, GgufTensor};

/// Rewrites the f32 fixture with every value rounded to bf16, stored as `dtype` (bf16, or f32
/// holding the same values), and returns the file's bytes.
fn bf16_copy(dtype: GgmlDType) -> Vec<u8> {
    let path = fixture("llama-f32.gguf");
    let bytes = std::fs::read(&path).unwrap();
    let mut cursor = std::io::Cursor::new(&bytes);
    let content = Content::read(&mut cursor).unwrap();
    let metadata: Vec<_> = content
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut names: Vec<_> = content.tensor_infos.keys().cloned().collect();
    names.sort();
    let tensors: Vec<GgufTensor> = names
        .iter()
        .map(|name| {
            let info = &content.tensor_infos[name];
            assert_eq!(info.ggml_dtype, GgmlDType::F32, "{name}");
            GgufTensor {
                name: name.clone(),
                shape: info.shape.dims().to_vec(),
                dtype,
            }
        })
        .collect();
    let out =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("llama-{dtype:?}.gguf"));
    write_gguf(&out, &metadata, &tensors, |t, w| {
        let info = &content.tensor_infos[&t.name];
        let start = content.tensor_data_offset as usize + info.offset as usize;
        let data = &bytes[start..start + t.byte_len() as usize * 4 / dtype.type_size()];
        for value in data.chunks_exact(4) {
            let v = half::bf16::from_f32(f32::from_le_bytes(value.try_into().unwrap()));
            match dtype {
                GgmlDType::BF16 => w.write_all(&v.to_le_bytes()),
                _ => w.write_all(&v.to_f32().to_le_bytes()),
            }
            .unwrap();
        }
        Ok(())
    })
    .unwrap();
    std::fs::read(out).unwrap()
}

fn prompt_logits(bytes: Vec<u8>) -> Vec<f32> {
    let gguf = GgufFile::parse(&bytes).unwrap();
    let model = Model::load(&gguf, bytes.clone()).unwrap();
    let mut cache = model.new_cache();
    model
        .forward(&reference("llama").prompt_ids, &mut cache, true)
        .unwrap()
}

#[test]
fn bf16_model_runs_as_its_values_in_f32() {
    let bf16 = bf16_copy(GgmlDType::BF16);
    let gguf = GgufFile::parse(&bf16).unwrap();
    assert!(gguf
        .tensors
        .values()
        .all(|t| t.dtype == sotto::kernels::quant::GgmlType::BF16));
    let ours = prompt_logits(bf16);
    let as_f32 = prompt_logits(bf16_copy(GgmlDType::F32));
    assert_eq!(ours, as_f32, "bf16 weights against their values in f32");
    let hf = logits("llama-f32.hf_prompt_logits.f32");
    let diff = max_abs_diff(&ours, &hf);
    println!("bf16 prompt logits: max abs diff {diff} from HF f32");
    assert!(diff < 0.25, "{diff}");
}
