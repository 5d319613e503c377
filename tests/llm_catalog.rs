//! The model catalog's chat facts (`models/catalog.json`, each chat model's `chat`): which
//! template, its end-of-turn marker and stop tokens, and thinking, checked against the templates
//! the models ship (`tests/fixtures/llm/templates/`, taken from the published files) as the
//! engine reads them.

use sotto::llm::template::{builtin, ChatTemplate};
use sotto::llm::{Message, Role};

/// The chat template a catalog entry's `chat.source` names: what its GGUF carries.
fn template_source(source: &str) -> String {
    let fixture = |name: &str| {
        let path = format!(
            "{}/tests/fixtures/llm/templates/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    match source {
        // Read from SmolLM2-135M-Instruct.Q4_1.gguf (the 360M model's is the same).
        "smollm2" => fixture("smollm2.jinja"),
        "qwen2.5" => include_str!("../src/testmodels/qwen25_chat_template.jinja").to_string(),
        "qwen3" => fixture("qwen3.jinja"),
        // Gemma 3 -it's own template renders text turns as the built-in one does.
        "gemma" => builtin("gemma").unwrap().source.to_string(),
        other => panic!("catalog: unknown chat template source `{other}`"),
    }
}

fn conversation() -> Vec<Message> {
    vec![
        Message::new(Role::System, "Be brief."),
        Message::new(Role::User, "Hi"),
        Message::new(Role::Assistant, "Hello."),
        Message::new(Role::User, "What is 2+2?"),
    ]
}

#[test]
fn every_chat_models_template_facts_hold() {
    let path = format!("{}/models/catalog.json", env!("CARGO_MANIFEST_DIR"));
    let catalog: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut checked = Vec::new();
    for entry in catalog["models"].as_array().unwrap() {
        if entry["role"] != "llm" {
            continue;
        }
        let id = entry["id"].as_str().unwrap();
        let chat = &entry["chat"];
        let field = |key: &str| {
            chat[key]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: chat.{key} is missing"))
        };
        let source = template_source(field("source"));
        let template = ChatTemplate::new(&source, "<bos>", "<eos>").unwrap();

        let end_of_turn = template.end_of_turn();
        assert_eq!(end_of_turn.as_deref(), Some(field("endOfTurn")), "{id}");
        let format = builtin(field("template"));
        let mut stops = vec![field("endOfTurn").to_string()];
        stops.extend(
            format
                .iter()
                .flat_map(|b| b.extra_stops.iter().map(|s| s.to_string())),
        );
        let listed: Vec<String> = serde_json::from_value(chat["stops"].clone()).unwrap();
        assert_eq!(listed, stops, "{id}");

        let thinking = field("thinking");
        assert_eq!(
            ChatTemplate::has_thinking_switch(&source),
            thinking == "off",
            "{id}: thinking is `{thinking}`"
        );
        let prompt = template.render(&conversation(), true).unwrap();
        assert_eq!(
            prompt.ends_with("<think>\n\n</think>\n\n"),
            thinking == "off",
            "{id}: {prompt:?}"
        );
        // A built-in format's name means its turns: the model's template renders a
        // conversation (with a system prompt) as the built-in one does.
        match format {
            Some(builtin) => {
                let ours = ChatTemplate::new(builtin.source, "<bos>", "<eos>").unwrap();
                assert_eq!(ours.render(&conversation(), true).unwrap(), prompt, "{id}");
            }
            None => assert_eq!(field("template"), "qwen3", "{id}: unknown template format"),
        }
        checked.push(id.to_string());
    }
    for id in [
        "smollm2-135m-instruct-q4_1",
        "gemma-3-270m-it-q4_k_m",
        "qwen3-0.6b-q8_0",
    ] {
        assert!(
            checked.iter().any(|c| c == id),
            "{id} is not in the catalog"
        );
    }
}
