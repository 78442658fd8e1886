//! Bounds on every string a client sends: a length limit per field and no NUL byte anywhere (a NUL cannot be
//! part of a path, a language or an id, and some tools and stores stop reading at one). A refusal names the field,
//! e.g. `` `files[3].language` is too long: 100000 bytes (limit 64) ``.

use super::ApiError;

/// `user_id` in bodies and paths.
pub(crate) const USER_ID: usize = 256;
/// `job_type`.
pub(crate) const JOB_TYPE: usize = 32;
/// `language` of a job or a run file.
pub(crate) const LANGUAGE: usize = 64;
/// `repo_id`.
pub(crate) const REPO_ID: usize = 512;
/// A reason a client gives for a file it did not send.
pub(crate) const SKIP_REASON: usize = 1024;
/// Job and run ids in WebSocket messages (ours are 36-character UUIDs).
pub(crate) const ID: usize = 128;
/// History filters: `search`, `language` and the like.
pub(crate) const FILTER: usize = 256;

/// Refuses `value` for `field` when it is longer than `limit` bytes or holds a NUL.
pub(crate) fn check(field: &str, value: &str, limit: usize) -> Result<(), ApiError> {
    if value.len() > limit {
        return Err(ApiError::BadRequest(format!(
            "`{field}` is too long: {} bytes (limit {limit})",
            value.len()
        )));
    }
    if value.contains('\0') {
        return Err(ApiError::BadRequest(format!(
            "`{field}` contains a NUL byte"
        )));
    }
    Ok(())
}

/// [`check`] for an optional field.
pub(crate) fn check_optional(
    field: &str,
    value: Option<&str>,
    limit: usize,
) -> Result<(), ApiError> {
    value.map_or(Ok(()), |value| check(field, value, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_field_and_the_limit() {
        let error = check("repo_id", &"x".repeat(513), REPO_ID).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`repo_id` is too long: 513 bytes (limit 512)"),
            "{error}"
        );
        let error = check("files[2].path", "a\0b", 4096).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`files[2].path` contains a NUL byte"),
            "{error}"
        );
        assert!(check("language", "python", LANGUAGE).is_ok());
        assert!(check_optional("repo_id", None, REPO_ID).is_ok());
    }
}
