//! Derives the compact ASR parity fixtures in `tests/fixtures/asr/` from
//! `../shared/parity/whisper_tiny_random` (run by hand; the tests never read `../shared`).
//!
//! `cargo run --example derive_asr_fixtures -- ../shared/parity tests/fixtures/asr`
//!
//! The reference model's 51865×64 token embedding is most of its 14.8 MB, so the fixture keeps only
//! the rows of a vocabulary subset: every prompt, greedy and top-5 id, a few special tokens, and a
//! seeded random sample. Logits are kept for those columns only; the argmax over the subset then
//! equals the reference greedy ids because each reference top-1 id is in the subset.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use candle_core::{DType, Device, IndexOp, Tensor};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let parity = PathBuf::from(args.get(1).map_or("../shared/parity", String::as_str));
    let out = PathBuf::from(args.get(2).map_or("tests/fixtures/asr", String::as_str));
    let model_dir = parity.join("whisper_tiny_random");
    std::fs::create_dir_all(&out)?;
    std::fs::copy(
        parity.join("audio/hello_16k.wav"),
        out.join("hello_16k.wav"),
    )?;

    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model_dir.join("reference.json"))?)?;
    let ids_of = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array()
            .expect("id list")
            .iter()
            .map(|x| x.as_u64().expect("id") as u32)
            .collect()
    };
    let mut subset: BTreeSet<u32> = BTreeSet::new();
    subset.extend(ids_of(&reference["greedy_ids"]));
    for step in reference["greedy_top5"].as_array().expect("top5") {
        subset.extend(ids_of(&step["ids"]));
    }
    subset.extend([220, 50257, 50258, 50259, 50359, 50360, 50362, 50363, 50364]);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    while subset.len() < 512 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        subset.insert((state % 50257) as u32);
    }
    let subset: Vec<u32> = subset.into_iter().collect();
    let dev = Device::Cpu;
    let subset_t = Tensor::new(subset.as_slice(), &dev)?;

    // Model: pruned embedding, decoder positions cut to the 32 the tests use.
    let mut weights: HashMap<String, Tensor> =
        candle_core::safetensors::load(model_dir.join("model.safetensors"), &dev)?;
    let embed = weights["model.decoder.embed_tokens.weight"].index_select(&subset_t, 0)?;
    weights.insert("model.decoder.embed_tokens.weight".into(), embed);
    let positions = weights["model.decoder.embed_positions.weight"].i(0..32)?;
    weights.insert("model.decoder.embed_positions.weight".into(), positions);
    candle_core::safetensors::save(&weights, out.join("model.safetensors"))?;
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model_dir.join("config.json"))?)?;
    config["vocab_size"] = subset.len().into();
    config["max_target_positions"] = 32.into();
    std::fs::write(
        out.join("config.json"),
        serde_json::to_string_pretty(&config)?,
    )?;

    // Reference arrays, trimmed.
    // Only the C-ordered arrays we need (candle refuses the Fortran-ordered hidden states).
    let wanted = ["mel", "encoder_out", "prompt_logits", "step1_logits"];
    let npz: HashMap<String, Tensor> =
        Tensor::read_npz_by_name(model_dir.join("reference.npz"), &wanted)?
            .into_iter()
            .zip(wanted)
            .map(|(t, name)| (name.to_string(), t))
            .collect();
    let mel = &npz["mel"];
    let rows: Vec<u32> = (0..1500).step_by(3).collect();
    let rows_t = Tensor::new(rows.as_slice(), &dev)?;
    let as_u32 = |v: &[u32]| Tensor::new(v, &dev);
    let mut fixture: HashMap<String, Tensor> = HashMap::new();
    fixture.insert("vocab_subset".into(), subset_t.clone());
    fixture.insert("mel_head".into(), mel.i((.., 0..320))?.contiguous()?);
    fixture.insert("mel_last".into(), mel.i((.., 2999))?.contiguous()?);
    fixture.insert(
        "mel_filters_80".into(),
        Tensor::read_npy(model_dir.join("mel_filters_80.npy"))?.to_dtype(DType::F32)?,
    );
    fixture.insert("encoder_out_rows".into(), rows_t.clone());
    fixture.insert(
        "encoder_out".into(),
        npz["encoder_out"]
            .squeeze(0)
            .unwrap_or(npz["encoder_out"].clone())
            .index_select(&rows_t, 0)?,
    );
    let logits = |name: &str| -> anyhow::Result<Tensor> {
        let t = &npz[name];
        let t = if t.rank() == 3 {
            t.squeeze(0)?
        } else {
            t.clone()
        };
        Ok(t.index_select(&subset_t, t.rank() - 1)?)
    };
    fixture.insert("prompt_logits".into(), logits("prompt_logits")?);
    fixture.insert("step1_logits".into(), logits("step1_logits")?);
    fixture.insert(
        "prompt_ids".into(),
        as_u32(&ids_of(&reference["prompt_ids"]))?,
    );
    fixture.insert(
        "greedy_ids".into(),
        as_u32(&ids_of(&reference["greedy_ids"]))?,
    );
    candle_core::safetensors::save(&fixture, out.join("reference.safetensors"))?;
    for (name, t) in &npz {
        println!("npz {name}: {:?}", t.shape());
    }
    println!("vocabulary subset: {} ids", subset.len());
    Ok(())
}
