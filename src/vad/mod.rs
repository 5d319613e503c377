//! Voice activity detection and endpointing: when the user starts and stops speaking.
