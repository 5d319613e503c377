//! The web engine's setters take a JS object as a patch of one section of the one settings
//! type ([`crate::settings`]), shared with the CLI and Node.

use wasm_bindgen::JsError;
use wasm_bindgen::JsValue;

use crate::settings::Section;

/// `current` with the fields the JS object `patch` names replaced, validated; `undefined` or
/// `null` changes nothing. Errors name the section and the field.
pub(super) fn overlay<T: Section>(current: &T, patch: JsValue) -> Result<T, JsError> {
    let patch: serde_json::Value = if patch.is_null() || patch.is_undefined() {
        serde_json::Value::Null
    } else {
        serde_wasm_bindgen::from_value(patch)
            .map_err(|e| JsError::new(&format!("{} settings: {e}", T::NAME)))?
    };
    crate::settings::overlay(current, patch).map_err(|e| JsError::new(&e.to_string()))
}
