//! Socket errors reported on the transports they concern.
//!
//! The send paths and the receive loops note errors per socket and destination in a
//! thread-local list ([`super::io::take_socket_errors`]): a send the kernel refused (EPERM from a
//! firewall, no route, ...) and ICMP errors that came back for datagrams sent (port or host
//! unreachable: a plain transport sending to a dead port, a browser gone). The worker's tick
//! picks them up and reports each on the transport that sends to that destination from that
//! socket: its stats count them (`socketErrors`) and it emits a `socketError` event — the first
//! at once, then at most one a second per transport, with how many errors it stands for.

use std::os::fd::AsRawFd;

use super::io::{errno_name, take_socket_errors, Route, SocketErrorOrigin, SocketErrorReport};
use super::TransportKind;
use crate::events::EventKind;
use crate::worker::WorkerState;

/// At most one `socketError` event per transport per this long.
const SOCKET_ERROR_EVENT_INTERVAL_MS: u64 = 1000;

impl TransportKind {
    /// Whether this transport sends to `remote` from socket `fd`.
    fn sends_from(&self, fd: i32, remote: std::net::SocketAddr) -> bool {
        match self {
            TransportKind::Plain(p) => p.socket_fds().any(|f| f == fd),
            TransportKind::WebRtc(w) => matches!(w.routes.get(&remote), Some(Route::Udp(s)) if s.as_raw_fd() == fd),
            TransportKind::Direct(_) => false,
        }
    }
}

impl WorkerState {
    /// Reports the socket errors noted since the last call (see the module docs).
    pub(crate) fn report_socket_errors(&mut self) {
        let reports = take_socket_errors();
        if reports.is_empty() {
            return;
        }
        let now = self.now_ms();
        for r in reports {
            let Some(t) = self.transports.values_mut().find(|t| t.kind.sends_from(r.fd, r.remote)) else {
                tracing::debug!("socket error not of a transport: {}", describe(&r));
                continue;
            };
            t.stats.socket_errors += r.count;
            t.unreported_socket_errors += r.count;
            if t.last_socket_error_event_ms.is_some_and(|last| now < last + SOCKET_ERROR_EVENT_INTERVAL_MS) {
                continue;
            }
            t.last_socket_error_event_ms = Some(now);
            let count = std::mem::take(&mut t.unreported_socket_errors);
            let message = describe(&r);
            tracing::warn!("transport {}: {message}", t.id);
            let (origin, icmp_type, icmp_code) = match r.origin {
                SocketErrorOrigin::Send => ("send", None, None),
                SocketErrorOrigin::Icmp { icmp_type, icmp_code } => ("icmp", Some(icmp_type), Some(icmp_code)),
                SocketErrorOrigin::Local => ("local", None, None),
            };
            let id = t.id.clone();
            self.bus.emit(
                &id,
                EventKind::SocketError {
                    error: errno_name(r.errno),
                    errno: r.errno,
                    message,
                    origin: origin.to_owned(),
                    remote_ip: r.remote.ip().to_string(),
                    remote_port: r.remote.port(),
                    protocol: crate::transport::Protocol::Udp,
                    icmp_type,
                    icmp_code,
                    offender_ip: r.offender.map(|a| a.to_string()),
                    count,
                },
            );
        }
    }
}

/// A line saying what went wrong, e.g. `ICMP port unreachable from 10.0.0.1 for datagrams to
/// 10.0.0.1:5004 (ECONNREFUSED)`.
pub(crate) fn describe(r: &SocketErrorReport) -> String {
    let name = errno_name(r.errno);
    match r.origin {
        SocketErrorOrigin::Send => format!("sending to {} failed: {} ({name})", r.remote, std::io::Error::from_raw_os_error(r.errno).to_string().split(" (os error").next().unwrap_or_default()),
        SocketErrorOrigin::Local => format!("datagram to {} failed locally: {name}", r.remote),
        SocketErrorOrigin::Icmp { icmp_type, icmp_code } => {
            let what = icmp_description(r.remote.is_ipv6(), icmp_type, icmp_code);
            let from = r.offender.map(|a| format!(" from {a}")).unwrap_or_default();
            format!("ICMP {what}{from} for datagrams to {} ({name})", r.remote)
        }
    }
}

fn icmp_description(v6: bool, t: u8, c: u8) -> String {
    let s = match (v6, t, c) {
        (false, 3, 0) => "network unreachable",
        (false, 3, 1) => "host unreachable",
        (false, 3, 2) => "protocol unreachable",
        (false, 3, 3) => "port unreachable",
        (false, 3, 4) => "fragmentation needed",
        (false, 3, 9 | 10 | 13) => "communication administratively prohibited",
        (false, 3, _) => "destination unreachable",
        (false, 11, _) => "time exceeded",
        (true, 1, 0) => "no route to destination",
        (true, 1, 1) => "communication administratively prohibited",
        (true, 1, 3) => "address unreachable",
        (true, 1, 4) => "port unreachable",
        (true, 1, _) => "destination unreachable",
        (true, 2, _) => "packet too big",
        (true, 3, _) => "time exceeded",
        _ => return format!("type {t} code {c}"),
    };
    s.to_owned()
}
