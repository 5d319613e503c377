//! Speech recognition: Whisper (encoder, cached decoder, Whisper's decoding rules).
