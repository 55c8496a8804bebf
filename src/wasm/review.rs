//! The page side of the review reports: the inventory and pre-review merged on the main thread
//! from the parts the workers examine, in input order (the CLI does the same with threads).

use wasm_bindgen::prelude::*;

use super::js_error;
use crate::Error;
use crate::review::inventory::{FilePart, Inventory};

/// An element inventory being built (JS class `Inventory`).
#[wasm_bindgen(js_name = Inventory)]
#[derive(Default)]
pub struct JsInventory {
    inner: Inventory,
}

#[wasm_bindgen(js_class = Inventory)]
impl JsInventory {
    #[wasm_bindgen(constructor)]
    pub fn new() -> JsInventory {
        JsInventory::default()
    }

    /// Adds the next file's part (from `Deidentifier.examine`); `name` is its relative path,
    /// which only the pre-review (PHI) shows.
    pub fn add(&mut self, name: &str, part: JsValue) -> Result<(), JsValue> {
        // A fixed message: serde's would quote the value it rejected, which may be PHI.
        let part: FilePart = serde_wasm_bindgen::from_value(part).map_err(|_| {
            js_error(&Error::Unsupported(
                "a worker's part could not be read".into(),
            ))
        })?;
        self.inner.add(name, part);
        Ok(())
    }

    /// Files added so far.
    pub fn files(&self) -> usize {
        self.inner.files()
    }

    /// `inventory-noPHI.csv`.
    #[wasm_bindgen(js_name = inventoryCsv)]
    pub fn inventory_csv(&self) -> String {
        self.inner.inventory_csv()
    }

    /// `pre_review-PHI.csv`.
    #[wasm_bindgen(js_name = preReviewCsv)]
    pub fn pre_review_csv(&self) -> String {
        self.inner.pre_review_csv()
    }
}

/// A pre-review CSV as `{header, rows}` for the page's editor.
#[wasm_bindgen(js_name = preReviewRows)]
pub fn pre_review_rows(csv: &str) -> Result<JsValue, JsValue> {
    let (header, rows) = crate::deid::overrides::read_rows(csv).map_err(|e| js_error(&e))?;
    super::to_js(&serde_json::json!({ "header": header, "rows": rows }))
}

/// The pre-review CSV with the editor's decisions (`[[row, decision, replacement], ...]`)
/// filled in: what the next run reads back as overrides.
#[wasm_bindgen(js_name = fillDecisions)]
pub fn fill_decisions(csv: &str, decisions: JsValue) -> Result<String, JsValue> {
    // A fixed message: serde's could quote a value.
    let decisions: Vec<(usize, String, String)> = serde_wasm_bindgen::from_value(decisions)
        .map_err(|_| js_error(&Error::Options("the decisions could not be read".into())))?;
    crate::deid::overrides::fill_decisions(csv, &decisions).map_err(|e| js_error(&e))
}
