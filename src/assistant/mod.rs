//! The turn-taking state machine that wires VAD, ASR, the dialog model and the voice together.
