//! Streaming chunker: cuts a streamed reply into speakable chunks.
