//! A real OpenID Connect provider for tests (`oidc-provider`, started by `scripts/oidc.sh`) and
//! a small browser that signs a person in on its login and consent pages the way a browser
//! does: it follows redirects one by one, keeps the provider's cookies, and posts its forms.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A running provider (and an untrusted second one), stopped when dropped.
pub struct Oidc {
    env_file: PathBuf,
    pub issuer: String,
    pub client_id: String,
    /// Another application of the organisation at the same provider.
    pub other_client_id: String,
    pub redirect_uri: String,
    /// A provider the Tidbit server does not trust, with the same clients.
    pub other_issuer: String,
    _dir: tempfile::TempDir,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/oidc.sh")
}

impl Oidc {
    pub fn start() -> Oidc {
        let dir = tempfile::tempdir().unwrap();
        let env_file = dir.path().join("oidc.env");
        let status = std::process::Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(&env_file)
            .status()
            .expect("bash runs scripts/oidc.sh");
        assert!(status.success(), "scripts/oidc.sh start failed");
        let text = std::fs::read_to_string(&env_file).unwrap();
        let values: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        Oidc {
            issuer: values["OIDC_ISSUER"].to_string(),
            client_id: values["OIDC_CLIENT_ID"].to_string(),
            other_client_id: values["OIDC_OTHER_CLIENT_ID"].to_string(),
            redirect_uri: values["OIDC_REDIRECT_URI"].to_string(),
            other_issuer: values["OIDC_OTHER_ISSUER"].to_string(),
            env_file,
            _dir: dir,
        }
    }
}

impl Drop for Oidc {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.env_file)
            .stdout(std::process::Stdio::null())
            .status();
    }
}

/// A browser session: cookies by (name, path), no automatic redirects.
pub struct Browser {
    client: reqwest::blocking::Client,
    cookies: HashMap<(String, String), String>,
    /// Pages and redirects seen, for failure messages.
    pub trail: Vec<String>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            client: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
            trail: Vec::new(),
        }
    }

    /// Opens `authorization_url`, signs in as `login` on the provider's login page, consents,
    /// and returns the URL the provider finally redirects to (the app's redirect URI).
    pub fn sign_in(&mut self, authorization_url: &str, login: &str, redirect_uri: &str) -> String {
        let mut request = self.client.get(authorization_url);
        let mut url = reqwest::Url::parse(authorization_url).unwrap();
        for _ in 0..20 {
            let response = self.send(request, &url);
            let status = response.status().as_u16();
            self.trail.push(format!("{status} {url}"));
            if (300..400).contains(&status) {
                let location = response.headers()["location"].to_str().unwrap().to_string();
                if location.starts_with(redirect_uri) {
                    return location;
                }
                url = url.join(&location).unwrap();
                request = self.client.get(url.clone());
                continue;
            }
            let page = response.text().unwrap();
            assert_eq!(status, 200, "the provider answered {status}: {page}");
            let (action, mut fields) =
                form(&page).unwrap_or_else(|| panic!("a page without a form at {url}: {page}"));
            // The login page asks for a login and a password; the consent page for nothing.
            if fields.iter().any(|(name, _)| name == "prompt") && page.contains("name=\"login\"") {
                fields.push(("login".into(), login.into()));
                fields.push(("password".into(), "correct horse battery staple".into()));
            }
            url = url.join(&action).unwrap();
            request = self.client.post(url.clone()).form(&fields);
        }
        panic!(
            "the sign-in did not come back to the app: {:#?}",
            self.trail
        )
    }

    fn send(
        &mut self,
        request: reqwest::blocking::RequestBuilder,
        url: &reqwest::Url,
    ) -> reqwest::blocking::Response {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .filter(|((_, path), _)| url.path().starts_with(path.as_str()))
            .map(|((name, _), value)| format!("{name}={value}"))
            .collect();
        let request = match cookie.is_empty() {
            true => request,
            false => request.header("cookie", cookie.join("; ")),
        };
        let response = request.send().unwrap();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let mut parts = set.split(';').map(str::trim);
            let (name, value) = parts.next().unwrap().split_once('=').unwrap();
            let mut path = "/".to_string();
            let mut gone = value.is_empty();
            for attribute in parts {
                let lower = attribute.to_ascii_lowercase();
                if let Some(p) = lower.strip_prefix("path=") {
                    path = attribute[5..5 + p.len()].to_string();
                }
                if lower.starts_with("expires=thu, 01 jan 1970") || lower == "max-age=0" {
                    gone = true;
                }
            }
            let key = (name.to_string(), path);
            if gone {
                self.cookies.remove(&key);
            } else {
                self.cookies.insert(key, value.to_string());
            }
        }
        response
    }
}

/// The first form of `page`: its action and its hidden fields.
fn form(page: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = page.find("<form")?;
    let end = start + page[start..].find("</form>")?;
    let form = &page[start..end];
    let action = attribute(form, "action")?;
    let mut fields = Vec::new();
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap_or(input.len())];
        if attribute(tag, "type").as_deref() == Some("hidden") {
            if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
                fields.push((name, value));
            }
        }
    }
    Some((html_unescape(&action), fields))
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(html_unescape(&tag[start..end]))
}

fn html_unescape(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
}
