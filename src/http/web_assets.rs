//! The browser app in `web/`, embedded in the binary (read from disk in debug builds, so
//! editing a page needs no rebuild).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/"]
struct WebAssets;

/// Serve `GET /<path>` from `web/`; `/` is `index.html`.
pub async fn serve(req: HttpRequest) -> HttpResponse {
    let path = req.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match WebAssets::get(path) {
        Some(file) => {
            let mime = file.metadata.mimetype();
            let mime = if mime.starts_with("text/")
                || mime.ends_with("javascript")
                || mime.ends_with("json")
            {
                format!("{mime}; charset=utf-8")
            } else {
                mime.to_string()
            };
            // Revalidate every time: after a deploy no browser mixes old and new modules,
            // and an unchanged file costs a 304 with no body.
            let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
            let matches = req
                .headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
            if matches {
                return HttpResponse::NotModified()
                    .insert_header((header::ETAG, etag))
                    .insert_header((header::CACHE_CONTROL, "no-cache"))
                    .finish();
            }
            HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, mime))
                .insert_header((header::CACHE_CONTROL, "no-cache"))
                .insert_header((header::ETAG, etag))
                .body(file.data.into_owned())
        }
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("página não encontrada"),
    }
}
