//! `POST /rest/V1/backup`: an online copy of the redb file into `storage.backup_dir`.

use super::errors::backup_error;
use super::{ok, parse_body, Call, Reply};
use serde::Deserialize;
use serde_json::json;

/// `POST /backup` with `{"path": name, "overwrite": bool}`.
pub(super) async fn write(call: &Call<'_>) -> Reply {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct BackupBody {
        path: String,
        #[serde(default)]
        overwrite: bool,
    }
    let req: BackupBody = parse_body(call.body)?;
    let dir = std::path::PathBuf::from(call.backup_dir);
    let (path, summary) = call
        .auth
        .backup(dir, req.path.clone(), req.overwrite, call.admin)
        .await
        .map_err(|e| backup_error(e, &req.path))?;
    let path = path.to_string_lossy().into_owned();
    ok(json!({
        "path": path,
        "customers": summary.customers,
        "access_tokens": summary.access_tokens,
    }))
}
