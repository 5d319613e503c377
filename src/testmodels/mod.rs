//! Deterministic tiny random models in the real file formats, and random models in real shapes.
