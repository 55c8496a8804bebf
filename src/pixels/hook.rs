//! Codecs the page loads from npm (CharLS for JPEG-LS, OpenJPEG for JPEG 2000) reach the library
//! as JS objects its worker installs on `globalThis`, called synchronously: a decoder the wasm32
//! build of a C codec cannot provide. This is the one lookup both use.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// The object installed as `globalThis[name]`, if the worker installed it.
pub(crate) fn installed(name: &str) -> Option<Object> {
    Reflect::get(&js_sys::global(), &name.into())
        .ok()
        .filter(JsValue::is_object)
        .map(JsCast::unchecked_into)
}

/// The function `hook[name]`, if it has one.
pub(crate) fn method(hook: &Object, name: &str) -> Option<Function> {
    Reflect::get(hook, &name.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
}
