//! Speech synthesis: the embedded voice that needs no download, and the streaming text chunker.
