//! Audio in and out: WAV reading and writing, resampling to 16 kHz, and Whisper's log-mel front end.
