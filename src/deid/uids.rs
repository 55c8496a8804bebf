//! UID remapping (action U): HMAC-SHA256 of the original UID under the project key, rendered as a
//! `2.25.` UUID-derived UID (PS3.5 B.2). Deterministic, so references across files stay consistent.

use crate::deid::key::ProjectKey;
use crate::dicom::model::{Tag, tags};

/// Maps one UID. Standard UIDs (PS3.6 registry `1.2.840.10008.*`) and well-known coding scheme
/// UIDs are returned unchanged: they identify kinds of things, not patients or instances.
pub fn remap(key: &ProjectKey, uid: &str) -> String {
    if uid.is_empty() || is_registered(uid) {
        return uid.to_string();
    }
    let h = key.mac("uid", uid.as_bytes());
    let mut n = [0u8; 16];
    n.copy_from_slice(&h[..16]);
    // Mark as a version-4 style UUID (RFC 4122) so the number reads as a UUID in 2.25 form.
    n[6] = (n[6] & 0x0f) | 0x40;
    n[8] = (n[8] & 0x3f) | 0x80;
    format!("2.25.{}", u128::from_be_bytes(n))
}

/// UIDs that name standard things: the DICOM registry and the coding schemes of PS3.16 Table 8-1
/// most often met in Coding Scheme UID (0008,010C).
pub fn is_registered(uid: &str) -> bool {
    const CODING_SCHEMES: [&str; 12] = [
        "2.16.840.1.113883.6.96",     // SNOMED CT
        "2.16.840.1.113883.6.1",      // LOINC
        "2.16.840.1.113883.6.8",      // UCUM
        "2.16.840.1.113883.6.5",      // SNOMED (SRT)
        "2.16.840.1.113883.6.103",    // ICD-9-CM
        "2.16.840.1.113883.6.3",      // ICD-10
        "2.16.840.1.113883.6.90",     // ICD-10-CM
        "2.16.840.1.113883.6.4",      // ICD-10-PCS
        "2.16.840.1.113883.3.26.1.1", // NCI Thesaurus
        "2.16.840.1.113883.6.86",     // UMLS
        "1.2.840.10008.2.16.4",       // DCM
        "2.16.840.1.113883.6.6",      // RadLex (legacy OID)
    ];
    uid == "1.2.840.10008" || uid.starts_with("1.2.840.10008.") || CODING_SCHEMES.contains(&uid)
}

/// UI attributes that hold class, syntax or scheme identifiers rather than instance identifiers;
/// their values are never remapped even when private (vendor SOP classes, for example).
pub fn is_class_uid_attribute(tag: Tag) -> bool {
    #[allow(deprecated)] // retired attributes still occur in files
    const CLASS_UID_ATTRIBUTES: [Tag; 15] = [
        tags::MEDIA_STORAGE_SOP_CLASS_UID,
        tags::TRANSFER_SYNTAX_UID,
        tags::IMPLEMENTATION_CLASS_UID,
        tags::REFERENCED_SOP_CLASS_UID_IN_FILE,
        tags::REFERENCED_TRANSFER_SYNTAX_UID_IN_FILE,
        tags::SOP_CLASS_UID,
        tags::RELATED_GENERAL_SOP_CLASS_UID,
        tags::ORIGINAL_SPECIALIZED_SOP_CLASS_UID,
        tags::SOP_CLASSES_IN_STUDY,
        tags::CODING_SCHEME_UID,
        tags::REFERENCED_SOP_CLASS_UID,
        tags::TEMPLATE_EXTENSION_ORGANIZATION_UID,
        tags::TEMPLATE_EXTENSION_CREATOR_UID,
        tags::MAC_CALCULATION_TRANSFER_SYNTAX_UID,
        tags::ENCRYPTED_CONTENT_TRANSFER_SYNTAX_UID,
    ];
    CLASS_UID_ATTRIBUTES.contains(&tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaps_consistently_and_validly() {
        let k = ProjectKey::from_bytes([3; 32]);
        let a = remap(&k, "1.3.6.1.4.1.5962.99.1.2");
        assert_eq!(a, remap(&k, "1.3.6.1.4.1.5962.99.1.2"));
        assert_ne!(a, remap(&k, "1.3.6.1.4.1.5962.99.1.3"));
        assert!(a.starts_with("2.25.") && a.len() <= 64);
        assert!(a[5..].bytes().all(|b| b.is_ascii_digit()) && !a[5..].starts_with('0'));
    }

    #[test]
    fn registered_uids_are_kept() {
        let k = ProjectKey::from_bytes([3; 32]);
        assert_eq!(
            remap(&k, "1.2.840.10008.5.1.4.1.1.2"),
            "1.2.840.10008.5.1.4.1.1.2"
        );
        assert_eq!(
            remap(&k, "2.16.840.1.113883.6.96"),
            "2.16.840.1.113883.6.96"
        );
        assert_ne!(remap(&k, "1.2.840.100081"), "1.2.840.100081");
    }
}
