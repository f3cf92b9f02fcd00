//! The `mutable-image-tag` fix: the image reference gains the digest found for it.

use super::Detail;
use crate::fix::workload::{At, Edits, Field, WorkloadFix, bad_path};
use crate::fix::digest;
use crate::fix::workload::FixError;

/// The fix (the check's [`super::super::Fixer::Workload`]).
#[derive(Debug)]
pub(crate) struct Fix;

impl WorkloadFix for Fix {
    /// A live Pod's image is the one field of its spec that may change.
    fn image_only(&self) -> bool {
        true
    }

    fn moves_literals(&self) -> bool {
        false
    }

    fn gather(&self, edits: &mut Edits, at: &At<'_>, field: Field) -> Result<bool, FixError> {
        let crate::checks::Detail::MutableImageTag(Detail::Image { image, digest, .. }) =
            &at.f.detail
        else {
            return Err(bad_path(at.object, at.f));
        };
        if field != Field::Image {
            return Err(bad_path(at.object, at.f));
        }
        // An image finding without a digest has nothing to pin.
        let Some(d) = digest else {
            return Ok(false);
        };
        if edits.container(at)?.image.as_deref() != Some(image.as_str()) {
            return Err(at.stale(format!("image {image}")));
        }
        let pinned = digest::pinned(image, d).map_err(|source| FixError::Image {
            object: at.object.to_string(),
            path: at.f.path.clone(),
            source,
        })?;
        edits.images.push((at.group, at.index, pinned));
        Ok(true)
    }
}
