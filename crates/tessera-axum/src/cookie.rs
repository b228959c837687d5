//! The two session cookies: reading them from `Cookie` headers, writing and clearing them with
//! `Set-Cookie`. No cookie crate: the names are fixed by configuration and the values are tokens
//! and JWTs (base62, base64url and dots), so the grammar needed is small.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::TimeDelta;

/// Names and attributes of the session cookies. The defaults are what Stytch's frontend SDKs
/// write (`stytch_session`, `stytch_session_jwt`, `Path=/`, `SameSite=Lax`, `Secure`, not
/// `HttpOnly`), so a frontend keeps working unchanged; set the same `path` and `domain` as the
/// SDK's `cookieOptions`.
///
/// ```
/// let cookies = tessera_axum::CookieSettings {
///     domain: Some("example.com".into()),
///     ..Default::default()
/// };
/// assert_eq!(cookies.jwt_name, "stytch_session_jwt");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSettings {
    /// The opaque session token's cookie. Default `stytch_session`.
    pub token_name: String,
    /// The session JWT's cookie. Default `stytch_session_jwt`.
    pub jwt_name: String,
    /// `Path` of the cookies written or cleared. Default `/`.
    pub path: String,
    /// `Domain`, if the frontend sets one (`availableToSubdomains`). Default none.
    pub domain: Option<String>,
    /// `Secure` on written cookies. Default true.
    pub secure: bool,
    /// `HttpOnly` on written cookies. Default false: Stytch's frontend SDKs read them.
    pub http_only: bool,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self {
            token_name: "stytch_session".into(),
            jwt_name: "stytch_session_jwt".into(),
            path: "/".into(),
            domain: None,
            secure: true,
            http_only: false,
        }
    }
}

impl CookieSettings {
    /// The `Set-Cookie` values that hand a new session to a browser: the token cookie and, if
    /// there is one, the JWT cookie, both for `max_age` (the session's remaining lifetime). For
    /// a sign-in or step-up handler.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// let cookies = tessera_axum::CookieSettings::default()
    ///     .session_cookies("tsr_mst_…", Some("e.y.J"), TimeDelta::minutes(60));
    /// assert_eq!(cookies.len(), 2);
    /// ```
    pub fn session_cookies(
        &self,
        token: &str,
        jwt: Option<&str>,
        max_age: TimeDelta,
    ) -> Vec<HeaderValue> {
        let mut cookies: Vec<HeaderValue> =
            self.set(&self.token_name, token, max_age).into_iter().collect();
        cookies.extend(jwt.and_then(|jwt| self.set(&self.jwt_name, jwt, max_age)));
        cookies
    }

    /// The `Set-Cookie` values that remove both session cookies (for a logout handler).
    ///
    /// ```
    /// let cookies = tessera_axum::CookieSettings::default().clearing_cookies();
    /// assert!(cookies[0].to_str().unwrap().contains("Max-Age=0"));
    /// ```
    pub fn clearing_cookies(&self) -> Vec<HeaderValue> {
        [&self.token_name, &self.jwt_name].into_iter().filter_map(|name| self.clear(name)).collect()
    }

    /// `Set-Cookie` writing `name=value` for `max_age`.
    pub(crate) fn set(&self, name: &str, value: &str, max_age: TimeDelta) -> Option<HeaderValue> {
        let mut cookie = format!("{name}={value}");
        self.attributes(&mut cookie, max_age.num_seconds().max(0));
        HeaderValue::from_str(&cookie).ok()
    }

    /// `Set-Cookie` removing `name` (same path and domain as it was written with).
    pub(crate) fn clear(&self, name: &str) -> Option<HeaderValue> {
        let mut cookie = format!("{name}=");
        self.attributes(&mut cookie, 0);
        HeaderValue::from_str(&cookie).ok()
    }

    fn attributes(&self, cookie: &mut String, max_age: i64) {
        cookie.push_str("; Path=");
        cookie.push_str(&self.path);
        if let Some(domain) = &self.domain {
            cookie.push_str("; Domain=");
            cookie.push_str(domain);
        }
        cookie.push_str(&format!("; Max-Age={max_age}; SameSite=Lax"));
        if self.secure {
            cookie.push_str("; Secure");
        }
        if self.http_only {
            cookie.push_str("; HttpOnly");
        }
    }
}

/// The value of the first cookie named `name` in the request's `Cookie` headers (an empty value
/// counts as absent: it is what clearing leaves behind in some clients).
pub(crate) fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; stytch_session=tok"));
        headers.append(header::COOKIE, HeaderValue::from_static("stytch_session_jwt=\"x.y.z\""));
        assert_eq!(read(&headers, "stytch_session"), Some("tok"));
        assert_eq!(read(&headers, "stytch_session_jwt"), Some("x.y.z"));
        assert_eq!(read(&headers, "missing"), None);
        headers.append(header::COOKIE, HeaderValue::from_static("empty="));
        assert_eq!(read(&headers, "empty"), None);
    }

    #[test]
    fn writes_and_clears_with_the_same_path_and_domain() {
        let settings = CookieSettings { domain: Some("example.com".into()), ..Default::default() };
        let set = settings.set("stytch_session_jwt", "x.y.z", TimeDelta::seconds(90)).unwrap();
        assert_eq!(
            set,
            "stytch_session_jwt=x.y.z; Path=/; Domain=example.com; Max-Age=90; SameSite=Lax; Secure"
        );
        let clear = settings.clear("stytch_session").unwrap();
        assert_eq!(
            clear,
            "stytch_session=; Path=/; Domain=example.com; Max-Age=0; SameSite=Lax; Secure"
        );
    }
}
