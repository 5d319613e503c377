//! `sotto serve`: a static file server for the demo and an optional models folder.
//!
//! The page needs `Cross-Origin-Opener-Policy`/`Cross-Origin-Embedder-Policy` (cross-origin
//! isolation, for SharedArrayBuffer and precise timers), `application/wasm` for streaming
//! compilation, and byte ranges so that model downloads can resume. It binds to 127.0.0.1 only.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

/// Arguments of `sotto serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The folder served at `/` (the built demo).
    #[arg(long, default_value = "dist")]
    root: PathBuf,
    /// A folder of model files served at `/models/` (ahead of `ROOT/models`, which serves the rest).
    #[arg(long)]
    models: Option<PathBuf>,
    /// The port on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Worker threads answering requests. A thread streams one response at a time and a
    /// browser keeps a connection per request in flight, so a page loading its modules while
    /// the engine downloads several model files needs more threads than there are downloads:
    /// with 4, all of them could be streaming models while a module script waited.
    #[arg(long, default_value_t = 16)]
    threads: usize,
}

/// Runs the server until the process is stopped.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.root.join("index.html").is_file() {
        bail!(
            "{} has no index.html: build the demo first (cargo xtask build) or pass --root",
            args.root.display()
        );
    }
    if let Some(models) = &args.models {
        if !models.is_dir() {
            bail!("--models {}: not a folder", models.display());
        }
    }
    let address = format!("127.0.0.1:{}", args.port);
    let server = Server::http(&address)
        .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))
        .context("is another server already using the port? pass --port")?;
    let server = Arc::new(server);
    let roots = Arc::new(Roots {
        site: args.root.clone(),
        models: args.models.clone(),
    });
    let page = std::fs::read_to_string(args.root.join("index.html")).unwrap_or_default();
    let _ = CONTENT_SECURITY_POLICY.set(page_policy(&page));
    println!("Serving {} on http://{address}/", args.root.display());
    if let Some(models) = &args.models {
        println!(
            "Models from {} on http://{address}/models/",
            models.display()
        );
    }
    let workers: Vec<_> = (0..args.threads.max(1))
        .map(|_| {
            let server = Arc::clone(&server);
            let roots = Arc::clone(&roots);
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let line = format!("{} {}", request.method(), request.url());
                    let status = respond(&roots, request);
                    if status >= 400 {
                        eprintln!("{status} {line}");
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

struct Roots {
    site: PathBuf,
    models: Option<PathBuf>,
}

impl Roots {
    /// Maps a URL path to a file, refusing anything that would leave the served folders. With a
    /// models folder, `/models/…` is looked up there first and then in the site's own `models/`,
    /// which still serves what the models folder lacks (the package's `catalog.json`).
    fn resolve(&self, url_path: &str) -> Option<PathBuf> {
        let decoded = percent_decode(url_path)?;
        let relative = decoded.trim_start_matches('/');
        if let (Some(models), Some(rest)) = (&self.models, relative.strip_prefix("models/")) {
            let path = within(models, rest)?;
            if path.exists() {
                return Some(path);
            }
        }
        within(&self.site, relative)
    }
}

/// `rest` under `base`, or None when it would leave `base`; a folder means its `index.html`.
fn within(base: &Path, rest: &str) -> Option<PathBuf> {
    let mut path = base.to_path_buf();
    for component in Path::new(rest).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if path.is_dir() {
        path.push("index.html");
    }
    Some(path)
}

/// Answers one request; returns the status code sent.
fn respond(roots: &Roots, request: Request) -> u16 {
    let head_only = match request.method() {
        Method::Get => false,
        Method::Head => true,
        _ => return send(request, Response::empty(405).boxed(), &[]),
    };
    let url_path = request
        .url()
        .split(['?', '#'])
        .next()
        .unwrap_or("/")
        .to_string();
    let Some(path) = roots.resolve(&url_path) else {
        return send(request, text(400, "bad path"), &[]);
    };
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(_) => return send(request, text(404, "not found"), &[]),
    };
    let size = match file.metadata() {
        Ok(meta) if meta.is_file() => meta.len(),
        _ => return send(request, text(404, "not found"), &[]),
    };
    let mut headers = vec![
        ("Content-Type", mime_type(&path).to_string()),
        ("Accept-Ranges", "bytes".to_string()),
        ("Cache-Control", "no-cache".to_string()),
    ];
    let range = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Range"))
        .map(|h| h.value.as_str().to_string());
    let (status, start, length) = match range.map(|r| parse_range(&r, size)) {
        None => (200, 0, size),
        Some(Some((start, end))) => {
            headers.push(("Content-Range", format!("bytes {start}-{end}/{size}")));
            (206, start, end - start + 1)
        }
        Some(None) => {
            headers.push(("Content-Range", format!("bytes */{size}")));
            return send(request, text(416, "range not satisfiable"), &headers);
        }
    };
    if head_only || length == 0 {
        headers.push(("Content-Length", length.to_string()));
        return send(request, Response::empty(status).boxed(), &headers);
    }
    if file.seek(SeekFrom::Start(start)).is_err() {
        return send(request, text(500, "seek failed"), &[]);
    }
    let body = Response::new(
        StatusCode(status),
        Vec::new(),
        file.take(length),
        Some(length as usize),
        None,
    );
    send(request, body.boxed(), &headers)
}

fn text(status: u16, message: &str) -> tiny_http::ResponseBox {
    Response::from_string(message)
        .with_status_code(status)
        .boxed()
}

/// The served page's Content-Security-Policy, read once from the `<meta http-equiv=
/// "Content-Security-Policy">` of the root's `index.html` (the demo's, `www/index.html`) and sent
/// as a header with every file: the header is what binds the workers, which do the downloads.
/// A root whose page has no such `<meta>` (an app of the user's own) gets no policy from here.
static CONTENT_SECURITY_POLICY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// The `content` of the page's CSP `<meta>`, if it has one.
fn page_policy(html: &str) -> Option<String> {
    let at = html.find("http-equiv=\"Content-Security-Policy\"")?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[..tag_end];
    let tag = &tag[tag.rfind('<')?..];
    let content = tag.find("content=\"")? + "content=\"".len();
    let len = tag[content..].find('"')?;
    Some(tag[content..content + len].to_string())
}

fn send(request: Request, mut response: tiny_http::ResponseBox, extra: &[(&str, String)]) -> u16 {
    let isolation = [
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Embedder-Policy", "require-corp"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("X-Content-Type-Options", "nosniff"),
    ];
    for (name, value) in isolation {
        response.add_header(header(name, value));
    }
    for (name, value) in extra {
        response.add_header(header(name, value));
    }
    if let Some(Some(policy)) = CONTENT_SECURITY_POLICY.get() {
        response.add_header(header("Content-Security-Policy", policy));
    }
    let status = response.status_code().0;
    // A client that hung up mid-body (a cancelled download) is not the server's error.
    let _ = request.respond(response);
    status
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header names are valid")
}

/// Parses a single `bytes=` range against a file of `size` bytes into inclusive bounds.
/// `None` means unsatisfiable (or a multi-range request, which this server does not do).
fn parse_range(value: &str, size: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (start, end) = if first.is_empty() {
        let suffix: u64 = last.parse().ok()?;
        (size.saturating_sub(suffix), size - 1)
    } else {
        let start: u64 = first.parse().ok()?;
        let end = if last.is_empty() {
            size - 1
        } else {
            last.parse::<u64>().ok()?.min(size - 1)
        };
        (start, end)
    };
    (start <= end && start < size).then_some((start, end))
}

fn percent_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn mime_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "webmanifest" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "wav" => "audio/wav",
        "txt" | "md" => "text/plain; charset=utf-8",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_read_from_the_pages_meta() {
        let page = "<head>\n  <meta charset=\"utf-8\">\n  <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; object-src 'none'\">\n</head>";
        assert_eq!(
            page_policy(page).as_deref(),
            Some("default-src 'self'; object-src 'none'")
        );
        assert_eq!(page_policy("<head><title>my app</title></head>"), None);
        let demo = include_str!("../../../www/index.html");
        assert!(page_policy(demo).unwrap().contains("'wasm-unsafe-eval'"));
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }

    #[test]
    fn traversal_is_refused() {
        let roots = Roots {
            site: PathBuf::from("site"),
            models: Some(PathBuf::from("m")),
        };
        assert_eq!(roots.resolve("/../etc/passwd"), None);
        assert_eq!(roots.resolve("/%2e%2e/secret"), None);
        assert_eq!(roots.resolve("/models/../../x"), None);
        // Neither folder exists here: a file the models folder lacks comes from the site's.
        assert_eq!(
            roots.resolve("/models/catalog.json"),
            Some(PathBuf::from("site/models/catalog.json"))
        );
        assert_eq!(roots.resolve("/app.js"), Some(PathBuf::from("site/app.js")));
    }

    #[test]
    fn wasm_mime() {
        assert_eq!(mime_type(Path::new("x/sotto_bg.wasm")), "application/wasm");
    }
}
