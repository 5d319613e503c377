use serde_json::json;

use super::*;

#[test]
fn the_defaults_are_the_runtime_defaults_and_greedy() {
    let settings = Settings::default();
    assert_eq!(settings.generation.to_options(), GenerateOptions::default());
    assert_eq!(settings.generation.temperature, 0.0);
    assert_eq!(settings.asr, DecodeOptions::default());
    assert_eq!(settings.voice, SpeechOptions::default());
    settings.validate().unwrap();
    // The defaults survive a round trip through their JSON (what `sotto settings` prints).
    let text = serde_json::to_string(&settings).unwrap();
    assert_eq!(
        Settings::from_json(&text, "defaults.json").unwrap(),
        settings
    );
}

#[test]
fn a_patch_changes_only_the_fields_it_names_and_null_clears() {
    let settings = Settings::default()
        .patched(json!({"generation": {"temperature": 0.7}, "asr": {"language": "en"}}))
        .unwrap();
    assert_eq!(settings.generation.temperature, 0.7);
    assert_eq!(
        settings.generation.max_tokens,
        GenerateOptions::default().max_tokens
    );
    assert_eq!(settings.asr.language.as_deref(), Some("en"));
    let settings = settings
        .patched(json!({"asr": {"language": null}}))
        .unwrap();
    assert_eq!(settings.asr.language, None);
    assert_eq!(settings.generation.temperature, 0.7);
    // Nested sections merge too.
    let settings = settings
        .patched(json!({"turns": {"vad": {"endpointMs": 600}}}))
        .unwrap();
    assert_eq!(settings.turns.vad.endpoint_ms, 600);
    assert_eq!(
        settings.turns.vad.pre_roll_ms,
        AssistantConfig::default().vad.pre_roll_ms
    );
}

#[test]
fn every_bad_setting_is_an_error_that_names_its_field() {
    let cases = [
        (json!({"generation": {"temprature": 1}}), "temprature"),
        (
            json!({"generation": {"temperature": "hot"}}),
            "generation.temperature: invalid type",
        ),
        (
            json!({"generation": {"temperature": -1}}),
            "generation.temperature",
        ),
        (json!({"generation": {"topP": 0}}), "generation.topP"),
        (
            json!({"generation": {"conversationTokens": 100}}),
            "generation.conversationTokens",
        ),
        (
            json!({"generation": {"maxTokens": 0}}),
            "generation.maxTokens",
        ),
        (json!({"generation": {"stop": [""]}}), "generation.stop"),
        (
            json!({"generation": 3}),
            "generation settings must be an object",
        ),
        (json!({"asr": {"language": "English"}}), "asr.language"),
        (
            json!({"asr": {"noSpeechThreshold": 2}}),
            "asr.noSpeechThreshold",
        ),
        (json!({"asr": {"maxTokens": 5000}}), "asr.maxTokens"),
        (json!({"voice": {"sampleRate": 44_100}}), "voice.sampleRate"),
        (json!({"voice": {"rate": 9}}), "voice.rate"),
        (json!({"voice": {"pitch": 0.1}}), "voice.pitch"),
        (
            json!({"turns": {"vad": {"endpointMs": 0}}}),
            "turns.vad.endpointMs",
        ),
        (json!({"turns": {"vad": {"endpoint": 300}}}), "endpoint"),
        (json!({"turns": {"mode": "telepathy"}}), "telepathy"),
        // A value of the wrong type: serde's own message names no field.
        (
            json!({"generation": {"maxTokens": "many"}}),
            "generation.maxTokens: invalid type",
        ),
        (
            json!({"turns": {"vad": {"endpointMs": "soon"}}}),
            "turns.vad.endpointMs: invalid type",
        ),
        (
            json!({"asr": {"fullWindow": 3}}),
            "asr.fullWindow: invalid type",
        ),
        (json!({"sound": {}}), "unknown settings section `sound`"),
        (json!([1, 2]), "settings must be an object of sections"),
    ];
    for (patch, named) in cases {
        let err = Settings::default().patched(patch.clone()).unwrap_err();
        assert!(
            err.0.contains(named),
            "{patch}: {err} does not name {named}"
        );
    }
}

#[test]
fn a_settings_file_names_itself_in_errors() {
    let err = Settings::from_json("{\"voice\": {\"rate\": 0}}", "my.json").unwrap_err();
    assert!(err.0.starts_with("my.json: voice.rate"), "{err}");
    let err = Settings::from_json("not json", "my.json").unwrap_err();
    assert!(err.0.contains("my.json: not a JSON settings file"), "{err}");
}
