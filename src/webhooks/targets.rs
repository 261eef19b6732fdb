//! Where a webhook may be sent. An endpoint is an http(s) URL without credentials whose every
//! address is public: private (RFC 1918, unique local), loopback, link-local, unspecified,
//! shared (CGNAT), multicast, broadcast, documentation and reserved addresses are refused —
//! unless `webhooks.allow_private_targets` (the tests' receivers listen on 127.0.0.1) — so that
//! an admin account cannot make the service reach into its own network (a database, a cloud
//! metadata service at 169.254.169.254).
//!
//! The check runs at registration on every address the name resolves to, and again at each
//! delivery inside the HTTP client's resolver ([`GuardedResolver`]), on the very addresses it
//! connects to: a name that resolved to a public address at registration and to a private one
//! later (DNS rebinding) is refused then. Redirects are not followed.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::connect::dns::Name;
use url::{Host, Url};

/// The longest URL an endpoint may have.
pub const MAX_URL_LENGTH: usize = 2000;

/// How long resolving an endpoint's name may take at registration.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = ip.segments();
            // NAT64 (64:ff9b::/96) reaches the IPv4 address it embeds.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(ip.is_unspecified()
                || ip.is_loopback()
                || ip.is_multicast()
                || ip.is_unique_local()
                || ip.is_unicast_link_local()
                // Site-local (deprecated, fec0::/10), IPv4-compatible (::/96), documentation.
                || (segments[0] & 0xffc0) == 0xfec0
                || segments[..6] == [0, 0, 0, 0, 0, 0]
                || (segments[0] == 0x2001 && segments[1] == 0x0db8))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        // Shared address space (CGNAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24; benchmarking, 198.18.0.0/15.
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

/// Why a target is refused, as the admin is told.
pub const PRIVATE_REFUSED: &str = "points at a private, loopback, link-local or otherwise non-public address, which webhooks may not reach";

/// The URL of an endpoint, checked for its form: http(s), a host, no credentials, no fragment.
pub fn parse_url(raw: &str) -> Result<Url, &'static str> {
    let url = Url::parse(raw.trim()).map_err(|_| "is not a URL")?;
    // The normalised form is what is stored (percent-encoding can lengthen it).
    if url.as_str().len() > MAX_URL_LENGTH {
        return Err("must have at most 2000 characters");
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL");
    }
    if url.host().is_none() {
        return Err("must name a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold credentials: receivers check the signature instead");
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment");
    }
    Ok(url)
}

/// The address a URL names literally, if it does.
fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

/// Refuses a URL naming a non-public address literally (the resolver never sees those).
pub fn check_literal(url: &Url, allow_private: bool) -> Result<(), &'static str> {
    match literal_ip(url) {
        Some(ip) if !allow_private && !is_public(ip) => Err(PRIVATE_REFUSED),
        _ => Ok(()),
    }
}

/// The registration check: the URL's every address (after resolution) must be public.
pub async fn check_target(url: &Url, allow_private: bool) -> Result<(), &'static str> {
    check_literal(url, allow_private)?;
    if allow_private || literal_ip(url).is_some() {
        return Ok(());
    }
    let host = url.host_str().ok_or("must name a host")?.to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| "does not resolve (the lookup timed out)")?
        .map_err(|_| "does not resolve")?
        .collect::<Vec<_>>();
    if addresses.is_empty() {
        return Err("does not resolve");
    }
    if addresses.iter().any(|address| !is_public(address.ip())) {
        return Err(PRIVATE_REFUSED);
    }
    Ok(())
}

/// The HTTP client's resolver: the system's (`getaddrinfo`, on the blocking pool), refusing a
/// name when any of its addresses is not public.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

/// A name refused by [`GuardedResolver`].
#[derive(Debug, thiserror::Error)]
#[error("the target resolves to a non-public address, which webhooks may not reach")]
pub struct PrivateTarget;

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if !allow_private && addresses.iter().any(|a| !is_public(a.ip())) {
                return Err(PrivateTarget.into());
            }
            Ok(addresses.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "192.0.0.8",
            "192.0.2.10",
            "198.18.0.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip(refused)), "{refused}");
        }
        for public in [
            "8.8.8.8",
            "41.73.100.1",
            "172.32.0.1",
            "100.128.0.1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn urls_must_be_plain_http_or_https() {
        assert!(parse_url("https://crm.example.org/hooks/bamex?k=1").is_ok());
        assert!(parse_url("http://8.8.8.8:8080/in").is_ok());
        for refused in [
            "ftp://example.org/",
            "file:///etc/passwd",
            "gopher://example.org/",
            "https://user:pass@example.org/",
            "https://example.org/#x",
            "not a url",
            "/relative",
        ] {
            assert!(parse_url(refused).is_err(), "{refused}");
        }
        assert!(parse_url(&format!("https://example.org/{}", "a".repeat(2000))).is_err());
    }

    #[tokio::test]
    async fn literal_and_resolved_private_targets_are_refused_unless_allowed() {
        for refused in [
            "http://127.0.0.1:9/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/",
            "http://localhost:8080/",
        ] {
            let url = parse_url(refused).unwrap();
            assert!(check_target(&url, false).await.is_err(), "{refused}");
            assert!(check_target(&url, true).await.is_ok(), "{refused}");
        }
        let public = parse_url("http://8.8.8.8/").unwrap();
        assert!(check_target(&public, false).await.is_ok());
    }
}
