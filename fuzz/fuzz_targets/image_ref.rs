//! The image reference parser on arbitrary text: never panics, and what it accepts is
//! consistent (re-parses the same, pins to a pinned reference with the same name and tag,
//! never keeps blanks or a second `@`).
#![no_main]

use kubectl_secfix::model::ImageRef;
use libfuzzer_sys::fuzz_target;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = kubectl_secfix::fix::digest::parse_image_id(text);
    let Ok(r) = ImageRef::parse(text) else {
        return;
    };
    assert_eq!(r.original, text);
    assert_eq!(text.trim(), text, "accepted surrounding blanks: {text:?}");
    assert!(
        text.matches('@').count() <= 1,
        "accepted two digests: {text:?}"
    );
    assert_eq!(ImageRef::parse(&r.original).as_ref(), Ok(&r));
    let key = kubectl_secfix::registry::resolve_key(&r);
    assert!(!key.chars().any(char::is_whitespace), "{key:?}");
    let pinned = r.pinned(DIGEST);
    let p = ImageRef::parse(&pinned)
        .unwrap_or_else(|e| panic!("{text:?} pinned as {pinned:?} does not parse: {e}"));
    assert!(p.is_pinned());
    assert_eq!(p.digest.as_deref(), Some(DIGEST));
    assert_eq!(
        (&p.registry, &p.repository, &p.tag),
        (&r.registry, &r.repository, &r.tag)
    );
    if let Some(d) = &r.digest {
        assert!(!d.bytes().any(|b| b.is_ascii_uppercase()), "{text:?}");
    }
});
