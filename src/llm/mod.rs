//! The dialog model: GGUF chat models, chat templates, sampling and a cross-turn KV cache.
