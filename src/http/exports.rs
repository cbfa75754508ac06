//! `GET|HEAD /conferences/{conf}/schedule.xml` and `…/schedule.json`: the
//! conference for schedule apps (see [`crate::export`]), cached and
//! revalidated exactly as the feeds are (the same cache, keyed by the
//! conference's version; ETag, Last-Modified, 304, precompressed codings).

use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::ConferencePath;
use super::feeds::cache::Key;
use super::feeds::{rendered_feed, respond, Rendered, PUBLIC_CACHE};
use super::{AppState, HttpError};
use crate::domain::filter::StatusFilter;
use crate::domain::{ConferenceSlug, SessionFilter, Site};
use crate::export::{Export, Format};
use crate::store::{Store, StoreError};

pub async fn schedule_xml(
    state: web::Data<AppState>,
    ConferencePath(slug): ConferencePath,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    serve(&state, slug, &req, Format::Xml).await
}

pub async fn schedule_json(
    state: web::Data<AppState>,
    ConferencePath(slug): ConferencePath,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    serve(&state, slug, &req, Format::Json).await
}

async fn serve(
    state: &AppState,
    slug: ConferenceSlug,
    req: &HttpRequest,
    format: Format,
) -> Result<HttpResponse, HttpError> {
    // The documents take no options: a key here is a typo or a filter the
    // apps would wrongly believe applied, so it is refused, as everywhere
    // (the error names the key, as the filters' do).
    if let Some((key, _)) = url::form_urlencoded::parse(req.query_string().as_bytes()).next() {
        let key: String = key.chars().take(64).collect();
        return Err(HttpError::bad_request(
            &key,
            format!("unknown parameter: {} takes none", format.file_name()),
        ));
    }
    let key = Key::Export {
        slug: slug.to_string(),
        format,
    };
    let site = state.site.clone();
    let s2 = slug.clone();
    let rendered = rendered_feed(
        state,
        key,
        move |s| s.conference_version(&s2).map(|v| v.to_string()),
        move |s| render(s, &slug, format, &site),
    )
    .await?;
    respond(req, rendered, PUBLIC_CACHE).await
}

/// Renders the document from one snapshot of the conference; returns the
/// stamp (conference version) read with the rows.
pub fn render(
    store: &Store,
    slug: &ConferenceSlug,
    format: Format,
    site: &Site,
) -> Result<(String, Rendered), StoreError> {
    // Cancelled sessions too: they keep their event numbers reserved.
    let filter = SessionFilter {
        status: StatusFilter::All,
        ..SessionFilter::default()
    };
    let (conf, sessions) = store.sessions(slug, &filter)?;
    let export = Export::new(&conf, &sessions, site.links());
    let body = format.render(&export);
    Ok((
        conf.version.to_string(),
        Rendered::new(
            body.into(),
            conf.last_modified,
            format!("inline; filename=\"{}.{}\"", slug, format.file_name()),
        )
        .with_content_type(format.content_type()),
    ))
}
