//! The stylesheet and the copy-button script, compiled into the binary and
//! served under content-hashed names (`/assets/app.3f2a….css`), so browsers
//! may keep them for a year: a new build that changes one changes its URL.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

pub struct Asset {
    /// The path it is served at.
    pub path: String,
    etag: String,
    content_type: &'static str,
    body: &'static str,
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, body: &'static str) -> Asset {
        let digest = Sha256::digest(body.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Asset {
            path: format!("/assets/{stem}.{hex}.{ext}"),
            etag: format!("\"{hex}\""),
            content_type,
            body,
        }
    }
}

pub static CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app",
        "css",
        "text/css; charset=utf-8",
        include_str!("../../../assets/app.css"),
    )
});

pub static JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app",
        "js",
        "text/javascript; charset=utf-8",
        include_str!("../../../assets/app.js"),
    )
});

/// `GET /assets/{file}`: only the current hashed names exist.
pub async fn serve(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    let wanted = format!("/assets/{file}");
    let Some(asset) = [&*CSS, &*JS].into_iter().find(|a| a.path == wanted) else {
        return HttpResponse::NotFound()
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .content_type("text/plain; charset=utf-8")
            .body("no such asset\n");
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, asset.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if fresh {
        return res.finish();
    }
    res.content_type(asset.content_type).body(asset.body)
}
