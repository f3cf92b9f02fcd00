//! The JSON patch builder on arbitrary pairs of JSON values (two JSON texts one after the
//! other in the input): the patch applied to the first gives the second, and the patch the
//! other way gives the first back.
#![no_main]

use kubectl_secfix::fix::patch;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    let (Some(Ok(left)), Some(Ok(right))) = (values.next(), values.next()) else {
        return;
    };
    // Patches address members of the object a fix changes; wrap both so the root is an
    // object, as it always is.
    let left = json!({"x": left});
    let right = json!({"x": right});
    let forward = patch::diff(&left, &right, "").expect("pointer");
    let got = patch::applied(&left, &forward)
        .unwrap_or_else(|e| panic!("forward patch does not apply: {e}"));
    assert_eq!(got, right, "forward patch gives another value");
    let inverse = patch::diff(&right, &left, "").expect("pointer");
    let back = patch::applied(&got, &inverse)
        .unwrap_or_else(|e| panic!("inverse patch does not apply: {e}"));
    assert_eq!(back, left, "inverse patch does not give the first back");
    // No op for equal values.
    assert!(patch::diff(&left, &left, "").expect("pointer").is_empty());
});
