//! The stylesheet and the copy-button script, compiled into the binary and
//! served under content-hashed names (`/assets/app.3f2a….css`), so browsers
//! may keep them for a year: a new build that changes one changes its URL.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::domain::urls::LOCAL;
use crate::http::feeds::{compress, Variant};
use crate::http::protocol::if_none_match;

pub struct Asset {
    /// The path it is served at.
    pub path: String,
    /// Strong ETag of the identity body.
    etag: String,
    content_type: &'static str,
    body: Bytes,
    /// Compressed once, at first use, each with its own tag: the Compress
    /// middleware would compress per request and under the identity tag.
    gzip: Bytes,
    br: Bytes,
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, body: &'static str) -> Asset {
        let digest = Sha256::digest(body.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let body = Bytes::from_static(body.as_bytes());
        Asset {
            path: LOCAL.asset(format_args!("{stem}.{hex}.{ext}")),
            etag: format!("\"{hex}\""),
            content_type,
            gzip: compress(&body, Variant::Gzip),
            br: compress(&body, Variant::Brotli),
            body,
        }
    }

    fn variant(&self, v: Variant) -> Bytes {
        match v {
            Variant::Identity => self.body.clone(),
            Variant::Gzip => self.gzip.clone(),
            Variant::Brotli => self.br.clone(),
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

/// The timetable's placements: the page's CSP allows no inline style, so
/// every row, column and span a grid can use is a class here (`.r12`
/// starts at grid row 12, `.h8` spans 8 rows, `.c3` starts at grid
/// column 3, `.w2` spans 2), generated once from the layout's limits.
pub static GRID: LazyLock<Asset> = LazyLock::new(|| {
    use crate::domain::timetable::{MAX_COLUMNS, MAX_ROWS};
    use std::fmt::Write;
    let mut css = String::from("/* confcal timetable placements (generated) */\n");
    // Row 1 is the rooms' header; the time column is grid column 1.
    for n in 1..=MAX_ROWS + 1 {
        let _ = write!(
            css,
            ".r{n}{{grid-row-start:{n}}}.h{n}{{grid-row-end:span {n}}}"
        );
    }
    css.push('\n');
    for n in 1..=MAX_COLUMNS + 1 {
        let _ = write!(
            css,
            ".c{n}{{grid-column-start:{n}}}.w{n}{{grid-column-end:span {n}}}"
        );
    }
    css.push('\n');
    Asset::new("grid", "css", "text/css; charset=utf-8", css.leak())
});

/// `GET /assets/{file}`: only the current hashed names exist.
pub async fn serve(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    let wanted = LOCAL.asset(&*file);
    let Some(asset) = [&*CSS, &*JS, &*GRID].into_iter().find(|a| a.path == wanted) else {
        return HttpResponse::NotFound()
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .content_type("text/plain; charset=utf-8")
            .body("no such asset\n");
    };
    let variant = Variant::negotiate(&req);
    let etag = variant.etag(&asset.etag);
    let fresh = if_none_match(&req, &etag) == Some(true);
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if fresh {
        return res.finish();
    }
    if let Some(enc) = variant.content_encoding() {
        res.insert_header((header::CONTENT_ENCODING, enc.as_str()));
    }
    res.content_type(asset.content_type)
        .body(asset.variant(variant))
}
