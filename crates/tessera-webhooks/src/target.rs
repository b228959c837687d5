//! Where a webhook may be sent: [`WebhookUrl`] and the guard against server-side request
//! forgery.
//!
//! An endpoint URL is chosen by a customer, and the deliverer sits inside the deployment's
//! network: without a guard, "deliver to `http://169.254.169.254/…`" reads a cloud metadata
//! service, "deliver to `http://10.0.0.5:6379`" talks to an internal Redis. The guard refuses
//! such targets twice: at parse time for IP literals and `localhost` names
//! ([`WebhookUrl::parse`]), and at connect time for whatever a host name resolves to
//! ([`GuardedResolver`]), because DNS answers can change between the check and the connection
//! (DNS rebinding). Only a policy with `allow_private` (tests, an on-premises deployment
//! delivering to its own network) lets them through.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// The longest endpoint URL accepted, in bytes (the de facto limit of browsers and proxies;
/// longer is not a URL anyone configured by hand).
pub const MAX_URL_LEN: usize = 2048;

/// Which targets are allowed.
///
/// ```
/// use tessera_webhooks::TargetPolicy;
///
/// assert!(!TargetPolicy::default().allow_private);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetPolicy {
    /// Allow loopback, private, link-local and the other non-public ranges, and `localhost`.
    /// Off by default.
    pub allow_private: bool,
}

impl TargetPolicy {
    /// Whether `url`'s host is allowed: an IP literal outside the forbidden ranges, or a name
    /// other than `localhost` (what a name resolves to is [`GuardedResolver`]'s to check).
    ///
    /// ```
    /// use tessera_webhooks::{TargetPolicy, WebhookUrl};
    ///
    /// let lax = TargetPolicy { allow_private: true };
    /// let url = WebhookUrl::parse("http://127.0.0.1:9000/hook", lax)?;
    /// assert!(TargetPolicy::default().check(&url).is_err());
    /// # Ok::<(), tessera_webhooks::TargetError>(())
    /// ```
    pub fn check(&self, url: &WebhookUrl) -> Result<(), TargetError> {
        if self.allow_private {
            return Ok(());
        }
        match url.0.host() {
            Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip)),
            Some(Host::Domain(name)) if is_localhost_name(name) => Err(TargetError::LocalhostName),
            Some(Host::Domain(_)) => Ok(()),
            None => Err(TargetError::MissingHost),
        }
    }

    /// Whether a connection to `ip` is allowed.
    ///
    /// ```
    /// use tessera_webhooks::TargetPolicy;
    ///
    /// assert!(!TargetPolicy::default().allows("10.1.2.3".parse().unwrap()));
    /// assert!(TargetPolicy::default().allows("93.184.215.14".parse().unwrap()));
    /// ```
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_private || forbidden_class(ip).is_none()
    }
}

/// Why a URL is not an acceptable webhook target. Never quotes the URL (its query may hold a
/// customer's token); [`TargetError::code`] is a stable short code for APIs and logs.
///
/// ```
/// use tessera_webhooks::{TargetError, TargetPolicy, WebhookUrl};
///
/// let error = WebhookUrl::parse("ftp://example.com/", TargetPolicy::default()).unwrap_err();
/// assert_eq!(error, TargetError::UnsupportedScheme);
/// assert_eq!(error.code(), "url_scheme_unsupported");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Longer than [`MAX_URL_LEN`].
    #[error("the URL is longer than {MAX_URL_LEN} bytes")]
    TooLong,
    /// Not an absolute URL.
    #[error("not a valid absolute URL")]
    Malformed,
    /// Neither `http` nor `https`.
    #[error("only http and https URLs are allowed")]
    UnsupportedScheme,
    /// Carries `user:password@`: credentials in URLs end up in logs; use the signature.
    #[error("the URL must not carry a user name or password")]
    UserinfoNotAllowed,
    /// No host.
    #[error("the URL has no host")]
    MissingHost,
    /// `localhost` or a name under `.localhost`, which always mean this machine.
    #[error("localhost is not an allowed target")]
    LocalhostName,
    /// An IP address in a range that is not publicly routable.
    #[error("{0} addresses are not allowed targets")]
    ForbiddenAddress(AddressClass),
    /// The host name resolved only to forbidden addresses.
    #[error("the host resolves only to addresses that are not allowed targets")]
    ResolvesToForbidden,
}

impl TargetError {
    /// A stable short code, one per variant.
    ///
    /// ```
    /// use tessera_webhooks::TargetError;
    ///
    /// assert_eq!(TargetError::LocalhostName.code(), "target_localhost");
    /// ```
    pub const fn code(&self) -> &'static str {
        match self {
            Self::TooLong => "url_too_long",
            Self::Malformed => "url_malformed",
            Self::UnsupportedScheme => "url_scheme_unsupported",
            Self::UserinfoNotAllowed => "url_userinfo_not_allowed",
            Self::MissingHost => "url_host_missing",
            Self::LocalhostName => "target_localhost",
            Self::ForbiddenAddress(_) => "target_address_forbidden",
            Self::ResolvesToForbidden => "target_resolves_forbidden",
        }
    }
}

/// The non-public ranges a target address may fall in (IANA's special-purpose registries),
/// for error messages.
///
/// ```
/// use tessera_webhooks::{AddressClass, forbidden_class};
///
/// assert_eq!(forbidden_class("169.254.169.254".parse().unwrap()), Some(AddressClass::LinkLocal));
/// assert_eq!(AddressClass::LinkLocal.as_str(), "link-local");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressClass {
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT.
    SharedAddressSpace,
    /// `169.254.0.0/16`, `fe80::/10` (cloud metadata services live here).
    LinkLocal,
    /// `fc00::/7`, IPv6's private ranges; also the deprecated site-local `fec0::/10`.
    UniqueLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, network benchmarking.
    Benchmarking,
    /// `192.0.0.0/24` (IETF protocol assignments), `240.0.0.0/4`, `100::/64` (discard),
    /// `64:ff9b:1::/48` (local NAT64).
    Reserved,
}

impl AddressClass {
    /// A short lowercase name.
    ///
    /// ```
    /// use tessera_webhooks::AddressClass;
    ///
    /// assert_eq!(AddressClass::SharedAddressSpace.as_str(), "shared (CGNAT)");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::SharedAddressSpace => "shared (CGNAT)",
            Self::LinkLocal => "link-local",
            Self::UniqueLocal => "unique-local",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Reserved => "reserved",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The forbidden range `ip` falls in, or `None` for an address a webhook may go to.
///
/// IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
/// `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by that IPv4
/// address, since the packet ends up there.
///
/// ```
/// use tessera_webhooks::{AddressClass, forbidden_class};
///
/// assert_eq!(forbidden_class("::ffff:127.0.0.1".parse().unwrap()), Some(AddressClass::Loopback));
/// assert_eq!(forbidden_class("2606:4700::1111".parse().unwrap()), None);
/// ```
pub fn forbidden_class(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    let [a, b, c, _] = ip.octets();
    let class = match (a, b, c) {
        (0, _, _) => AddressClass::Unspecified,
        (127, _, _) => AddressClass::Loopback,
        (10, _, _) | (192, 168, _) => AddressClass::Private,
        (172, 16..=31, _) => AddressClass::Private,
        (100, 64..=127, _) => AddressClass::SharedAddressSpace,
        (169, 254, _) => AddressClass::LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressClass::Documentation,
        (198, 18..=19, _) => AddressClass::Benchmarking,
        (192, 0, 0) => AddressClass::Reserved,
        (224..=239, _, _) => AddressClass::Multicast,
        _ if ip == Ipv4Addr::BROADCAST => AddressClass::Broadcast,
        (240..=255, _, _) => AddressClass::Reserved,
        _ => return None,
    };
    Some(class)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        return Some(AddressClass::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressClass::Loopback);
    }
    if let Some(v4) = embedded_v4(ip) {
        return forbidden_v4(v4);
    }
    let class = match segments {
        [0x0100, 0, 0, 0, ..] => AddressClass::Reserved,
        [0x0064, 0xff9b, 0x0001, ..] => AddressClass::Reserved,
        [s, ..] if s & 0xfe00 == 0xfc00 => AddressClass::UniqueLocal,
        [s, ..] if s & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        [s, ..] if s & 0xffc0 == 0xfec0 => AddressClass::UniqueLocal,
        [s, ..] if s & 0xff00 == 0xff00 => AddressClass::Multicast,
        [0x2001, 0x0db8, ..] => AddressClass::Documentation,
        [s, ..] if s & 0xfff0 == 0x3ff0 => AddressClass::Documentation,
        _ => return None,
    };
    Some(class)
}

/// The IPv4 address an IPv6 address stands for, in the forms that carry one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let o = ip.octets();
    let at = |i: usize| Ipv4Addr::new(o[i], o[i + 1], o[i + 2], o[i + 3]);
    match ip.segments() {
        // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d (deprecated, still parsed).
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Some(at(12)),
        // NAT64 well-known prefix 64:ff9b::/96.
        [0x0064, 0xff9b, 0, 0, 0, 0, _, _] => Some(at(12)),
        // 6to4 2002:aabb:ccdd::/48.
        [0x2002, ..] => Some(at(2)),
        _ => None,
    }
}

fn check_ip(ip: IpAddr) -> Result<(), TargetError> {
    forbidden_class(ip).map_or(Ok(()), |class| Err(TargetError::ForbiddenAddress(class)))
}

/// `localhost`, `localhost.`, and names under it (RFC 6761 reserves them all for loopback).
fn is_localhost_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// An endpoint URL that passed [`WebhookUrl::parse`]: absolute `http` or `https`, a host, no
/// userinfo, at most [`MAX_URL_LEN`] bytes, and (unless the policy allows private targets) no
/// forbidden IP literal and no `localhost`.
///
/// ```
/// use tessera_webhooks::{TargetPolicy, WebhookUrl};
///
/// let url = WebhookUrl::parse("https://hooks.example.com/tessera", TargetPolicy::default())?;
/// assert_eq!(url.as_str(), "https://hooks.example.com/tessera");
/// # Ok::<(), tessera_webhooks::TargetError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    /// Parses and checks `input` under `policy`. IPv4 literals are recognised in every form
    /// the URL standard accepts (`http://2130706433/` is `127.0.0.1`).
    ///
    /// ```
    /// use tessera_webhooks::{TargetError, TargetPolicy, WebhookUrl};
    ///
    /// let strict = TargetPolicy::default();
    /// assert_eq!(
    ///     WebhookUrl::parse("http://user:pw@example.com/", strict).unwrap_err(),
    ///     TargetError::UserinfoNotAllowed,
    /// );
    /// assert_eq!(
    ///     WebhookUrl::parse("http://localhost:3000/", strict).unwrap_err().code(),
    ///     "target_localhost",
    /// );
    /// ```
    pub fn parse(input: &str, policy: TargetPolicy) -> Result<Self, TargetError> {
        if input.len() > MAX_URL_LEN {
            return Err(TargetError::TooLong);
        }
        let url = Url::parse(input).map_err(|error| match error {
            url::ParseError::EmptyHost => TargetError::MissingHost,
            _ => TargetError::Malformed,
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TargetError::UnsupportedScheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::UserinfoNotAllowed);
        }
        if url.host().is_none() {
            return Err(TargetError::MissingHost);
        }
        // Normalisation can lengthen a URL (percent-encoding).
        if url.as_str().len() > MAX_URL_LEN {
            return Err(TargetError::TooLong);
        }
        let url = Self(url);
        policy.check(&url)?;
        Ok(url)
    }

    /// The normalised URL.
    ///
    /// ```
    /// use tessera_webhooks::{TargetPolicy, WebhookUrl};
    ///
    /// let url = WebhookUrl::parse("HTTPS://Example.COM", TargetPolicy::default())?;
    /// assert_eq!(url.as_str(), "https://example.com/");
    /// # Ok::<(), tessera_webhooks::TargetError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reqwest DNS resolver that resolves with tokio (the system resolver) and drops every
/// address its policy forbids, so that a host name pointing at `127.0.0.1`, or re-pointed there
/// after the URL was checked, is never connected to. A name left with no allowed address fails
/// to resolve with [`TargetError::ResolvesToForbidden`].
///
/// The [`Deliverer`](crate::Deliverer) installs one; it is public for callers that build their
/// own client (then also disable proxies, which resolve names themselves, and redirects).
///
/// ```
/// use tessera_webhooks::{GuardedResolver, TargetPolicy};
///
/// let client = reqwest::Client::builder()
///     .dns_resolver(GuardedResolver::new(TargetPolicy::default()))
///     .no_proxy()
///     .redirect(reqwest::redirect::Policy::none())
///     .build();
/// assert!(client.is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: TargetPolicy,
    lookup: Lookup,
}

#[derive(Debug, Clone)]
enum Lookup {
    System,
    /// Every name resolves to these: lets tests point a name at loopback without DNS.
    #[cfg(test)]
    Fixed(Vec<IpAddr>),
}

impl GuardedResolver {
    /// A resolver enforcing `policy`.
    ///
    /// ```
    /// use tessera_webhooks::{GuardedResolver, TargetPolicy};
    ///
    /// let _resolver = GuardedResolver::new(TargetPolicy { allow_private: false });
    /// ```
    pub fn new(policy: TargetPolicy) -> Self {
        Self { policy, lookup: Lookup::System }
    }

    #[cfg(test)]
    pub(crate) fn fixed(policy: TargetPolicy, addresses: Vec<IpAddr>) -> Self {
        Self { policy, lookup: Lookup::Fixed(addresses) }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let lookup = self.lookup.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if !policy.allow_private && is_localhost_name(&host) {
                return Err(TargetError::LocalhostName.into());
            }
            // Port 0: reqwest puts the URL's port on every address.
            let resolved: Vec<SocketAddr> = match lookup {
                Lookup::System => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
                #[cfg(test)]
                Lookup::Fixed(ips) => ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect(),
            };
            let allowed = filter(policy, resolved)?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The allowed addresses among `resolved`; an error when the resolution gave some but the
/// policy allows none.
fn filter(policy: TargetPolicy, resolved: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, TargetError> {
    let found = !resolved.is_empty();
    let allowed: Vec<SocketAddr> =
        resolved.into_iter().filter(|address| policy.allows(address.ip())).collect();
    if found && allowed.is_empty() { Err(TargetError::ResolvesToForbidden) } else { Ok(allowed) }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    const STRICT: TargetPolicy = TargetPolicy { allow_private: false };
    const LAX: TargetPolicy = TargetPolicy { allow_private: true };

    fn class(ip: &str) -> Option<AddressClass> {
        forbidden_class(ip.parse().unwrap())
    }

    #[test]
    fn each_forbidden_ipv4_range_at_its_edges() {
        use AddressClass::*;
        let cases = [
            ("0.0.0.0", Some(Unspecified)),
            ("0.255.255.255", Some(Unspecified)),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("10.0.0.0", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("192.168.0.1", Some(Private)),
            ("192.167.255.255", None),
            ("192.169.0.0", None),
            ("100.64.0.0", Some(SharedAddressSpace)),
            ("100.127.255.255", Some(SharedAddressSpace)),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("169.254.169.254", Some(LinkLocal)),
            ("169.253.255.255", None),
            ("169.255.0.0", None),
            ("192.0.2.1", Some(Documentation)),
            ("198.51.100.7", Some(Documentation)),
            ("203.0.113.255", Some(Documentation)),
            ("198.18.0.0", Some(Benchmarking)),
            ("198.19.255.255", Some(Benchmarking)),
            ("198.20.0.0", None),
            ("192.0.0.8", Some(Reserved)),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.255", Some(Multicast)),
            ("240.0.0.1", Some(Reserved)),
            ("255.255.255.254", Some(Reserved)),
            ("255.255.255.255", Some(Broadcast)),
            ("1.1.1.1", None),
            ("8.8.8.8", None),
            ("93.184.215.14", None),
            ("223.255.255.255", None),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn each_forbidden_ipv6_range() {
        use AddressClass::*;
        let cases = [
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("fe80::1", Some(LinkLocal)),
            ("febf:ffff::1", Some(LinkLocal)),
            ("fec0::1", Some(UniqueLocal)),
            ("fc00::1", Some(UniqueLocal)),
            ("fd12:3456:789a::1", Some(UniqueLocal)),
            ("fbff:ffff::1", None),
            ("ff02::1", Some(Multicast)),
            ("ff0e::1", Some(Multicast)),
            ("2001:db8::1", Some(Documentation)),
            ("3fff:0fff::1", Some(Documentation)),
            ("100::1", Some(Reserved)),
            ("64:ff9b:1::1", Some(Reserved)),
            ("2606:4700:4700::1111", None),
            ("2001:4860:4860::8888", None),
            ("2001:db9::1", None),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_carrying_ipv4_are_judged_by_that_ipv4_address() {
        use AddressClass::*;
        let cases = [
            // IPv4-mapped.
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:7f00:1", Some(Loopback)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:100.64.0.1", Some(SharedAddressSpace)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::ffff:8.8.8.8", None),
            // IPv4-compatible.
            ("::127.0.0.1", Some(Loopback)),
            ("::192.168.1.1", Some(Private)),
            ("::8.8.8.8", None),
            // NAT64.
            ("64:ff9b::127.0.0.1", Some(Loopback)),
            ("64:ff9b::10.1.1.1", Some(Private)),
            ("64:ff9b::8.8.8.8", None),
            // 6to4.
            ("2002:7f00:1::", Some(Loopback)),
            ("2002:a9fe:a9fe::1", Some(LinkLocal)),
            ("2002:808:808::1", None),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn urls_must_be_http_or_https_with_a_host_and_no_userinfo() {
        let ok = |s: &str| WebhookUrl::parse(s, STRICT).map(|u| u.as_str().to_owned());
        assert_eq!(
            ok("https://hooks.example.com/a?b=c").unwrap(),
            "https://hooks.example.com/a?b=c"
        );
        assert_eq!(ok("http://example.com:8080").unwrap(), "http://example.com:8080/");
        assert_eq!(ok("https://8.8.8.8/x").unwrap(), "https://8.8.8.8/x");
        assert_eq!(ok("https://[2606:4700::1111]/").unwrap(), "https://[2606:4700::1111]/");
        let err = |s: &str| WebhookUrl::parse(s, LAX).unwrap_err();
        assert_eq!(err("ftp://example.com/"), TargetError::UnsupportedScheme);
        assert_eq!(err("file:///etc/passwd"), TargetError::UnsupportedScheme);
        assert_eq!(err("javascript:alert(1)"), TargetError::UnsupportedScheme);
        assert_eq!(err("gopher://example.com/"), TargetError::UnsupportedScheme);
        assert_eq!(err("https://user@example.com/"), TargetError::UserinfoNotAllowed);
        assert_eq!(err("https://:pw@example.com/"), TargetError::UserinfoNotAllowed);
        assert_eq!(err("https://user:pw@example.com/"), TargetError::UserinfoNotAllowed);
        assert_eq!(err("http://"), TargetError::MissingHost);
        assert_eq!(err("example.com/hook"), TargetError::Malformed);
        assert_eq!(err("/hook"), TargetError::Malformed);
        assert_eq!(err("http://exa mple.com/"), TargetError::Malformed);
        assert_eq!(err("http://[::1/"), TargetError::Malformed);
    }

    #[test]
    fn urls_are_bounded_in_length() {
        let base = "https://example.com/";
        let at_limit = format!("{base}{}", "a".repeat(MAX_URL_LEN - base.len()));
        assert!(WebhookUrl::parse(&at_limit, STRICT).is_ok());
        let over = format!("{at_limit}a");
        assert_eq!(WebhookUrl::parse(&over, STRICT).unwrap_err(), TargetError::TooLong);
        // Within the limit as typed, over it once percent-encoded.
        let expands = format!("{base}x{}x", " ".repeat(MAX_URL_LEN - base.len() - 2));
        assert_eq!(WebhookUrl::parse(&expands, STRICT).unwrap_err(), TargetError::TooLong);
    }

    #[test]
    fn ip_literals_in_forbidden_ranges_are_refused_unless_allowed() {
        let literals = [
            ("http://127.0.0.1:8080/", AddressClass::Loopback),
            ("http://2130706433/", AddressClass::Loopback),
            ("http://0x7f.1/", AddressClass::Loopback),
            ("http://0177.0.0.1/", AddressClass::Loopback),
            ("http://0/", AddressClass::Unspecified),
            ("http://10.0.0.5:6379/", AddressClass::Private),
            ("http://169.254.169.254/latest/meta-data/", AddressClass::LinkLocal),
            ("http://[::1]/", AddressClass::Loopback),
            ("http://[::ffff:127.0.0.1]/", AddressClass::Loopback),
            ("http://[::ffff:a9fe:a9fe]/", AddressClass::LinkLocal),
            ("http://[fd00::1]/", AddressClass::UniqueLocal),
            ("http://[fe80::1]/", AddressClass::LinkLocal),
            ("http://224.0.0.1/", AddressClass::Multicast),
            ("http://255.255.255.255/", AddressClass::Broadcast),
        ];
        for (url, class) in literals {
            let error = WebhookUrl::parse(url, STRICT).unwrap_err();
            assert_eq!(error, TargetError::ForbiddenAddress(class), "{url}");
            assert_eq!(error.code(), "target_address_forbidden");
            assert!(WebhookUrl::parse(url, LAX).is_ok(), "{url}");
        }
    }

    #[test]
    fn localhost_names_are_refused_unless_allowed() {
        for url in [
            "http://localhost/",
            "http://LOCALHOST:3000/",
            "http://localhost./",
            "http://api.localhost/",
            "http://a.b.localhost./",
        ] {
            assert_eq!(
                WebhookUrl::parse(url, STRICT).unwrap_err(),
                TargetError::LocalhostName,
                "{url}"
            );
            assert!(WebhookUrl::parse(url, LAX).is_ok(), "{url}");
        }
        for url in ["http://localhost.example.com/", "http://mylocalhost/", "http://localhostx/"] {
            assert!(WebhookUrl::parse(url, STRICT).is_ok(), "{url}");
        }
    }

    #[test]
    fn codes_are_distinct() {
        let all = [
            TargetError::TooLong,
            TargetError::Malformed,
            TargetError::UnsupportedScheme,
            TargetError::UserinfoNotAllowed,
            TargetError::MissingHost,
            TargetError::LocalhostName,
            TargetError::ForbiddenAddress(AddressClass::Loopback),
            TargetError::ResolvesToForbidden,
        ];
        let mut codes: Vec<&str> = all.iter().map(TargetError::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

    fn resolve(resolver: &GuardedResolver, name: &str) -> Result<Vec<SocketAddr>, String> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime
            .block_on(resolver.resolve(Name::from_str(name).unwrap()))
            .map(Iterator::collect)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_resolver_drops_forbidden_addresses() {
        let ips = ["127.0.0.1", "93.184.215.14", "::ffff:10.0.0.1", "2606:4700::1111"]
            .map(|s| s.parse().unwrap())
            .to_vec();
        let strict = GuardedResolver::fixed(STRICT, ips.clone());
        let kept: Vec<IpAddr> =
            resolve(&strict, "rebind.example").unwrap().iter().map(SocketAddr::ip).collect();
        assert_eq!(kept, [ips[1], ips[3]]);
        let lax = GuardedResolver::fixed(LAX, ips.clone());
        assert_eq!(resolve(&lax, "rebind.example").unwrap().len(), 4);
    }

    #[test]
    fn a_name_resolving_only_to_forbidden_addresses_fails() {
        let loopback = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        let strict = GuardedResolver::fixed(STRICT, loopback.clone());
        assert_eq!(
            resolve(&strict, "rebind.example").unwrap_err(),
            TargetError::ResolvesToForbidden.to_string()
        );
        let lax = GuardedResolver::fixed(LAX, loopback);
        assert_eq!(resolve(&lax, "rebind.example").unwrap().len(), 2);
    }

    #[test]
    fn the_system_resolver_refuses_localhost_before_and_after_lookup() {
        let strict = GuardedResolver::new(STRICT);
        assert_eq!(
            resolve(&strict, "localhost").unwrap_err(),
            TargetError::LocalhostName.to_string()
        );
        // A literal resolves to itself through the system resolver, and is then filtered.
        assert_eq!(
            resolve(&strict, "127.0.0.1").unwrap_err(),
            TargetError::ResolvesToForbidden.to_string()
        );
        let lax = GuardedResolver::new(LAX);
        assert!(resolve(&lax, "127.0.0.1").unwrap().iter().all(|a| a.ip().is_loopback()));
    }
}
