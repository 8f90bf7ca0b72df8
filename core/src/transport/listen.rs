//! Listen addresses (`listenInfo`) and port allocation.

use std::net::{IpAddr, SocketAddr, UdpSocket};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    /// Lowest port.
    pub min: u16,
    /// Highest port.
    pub max: u16,
}

/// Where a transport listens, as mediasoup's `TransportListenInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenInfo {
    /// `udp` or `tcp`.
    #[serde(default = "default_protocol")]
    pub protocol: Protocol,
    /// Local IP to bind (e.g. `127.0.0.1`, `0.0.0.0`).
    pub ip: String,
    /// Address announced to the remote instead of `ip` (public IP or host name).
    #[serde(default, alias = "announcedIp", skip_serializing_if = "Option::is_none")]
    pub announced_address: Option<String>,
    /// Fixed port (0 or absent: pick one from `port_range` or the worker's range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Range to pick a port from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range: Option<PortRange>,
    /// Socket send buffer size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_buffer_size: Option<u32>,
    /// Socket receive buffer size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recv_buffer_size: Option<u32>,
}

fn default_protocol() -> Protocol {
    Protocol::Udp
}

/// Receive buffer of UDP sockets whose `recvBufferSize` is not given, bytes.
const DEFAULT_UDP_RECV_BUFFER: usize = 1 << 20;

impl ListenInfo {
    /// A UDP listen info on `ip` with any port.
    pub fn udp(ip: &str) -> Self {
        ListenInfo { protocol: Protocol::Udp, ip: ip.into(), announced_address: None, port: None, port_range: None, send_buffer_size: None, recv_buffer_size: None }
    }

    /// The address written into tuples and candidates.
    pub fn local_address(&self) -> String {
        self.announced_address.clone().unwrap_or_else(|| self.ip.clone())
    }

    /// Checks the fields; `field` names the option in error messages (e.g. `listenInfo`).
    pub(crate) fn validate(&self, field: &str) -> Result<IpAddr> {
        let ip: IpAddr = self.ip.parse().map_err(|_| Error::type_err(format!("invalid {field}.ip: {:?} is not an IP address", self.ip)))?;
        if let Some(a) = &self.announced_address {
            if a.is_empty() {
                return Err(Error::type_err(format!("invalid {field}.announcedAddress: empty string")));
            }
        }
        if let Some(r) = self.port_range {
            if r.min == 0 || r.min > r.max {
                return Err(Error::type_err(format!("invalid {field}.portRange: min ({}) must be 1..=max ({})", r.min, r.max)));
            }
        }
        Ok(ip)
    }

    /// Binds a UDP socket: the fixed port, else a free port of the range (own or `fallback`).
    pub(crate) fn bind_udp(&self, field: &str, fallback: PortRange) -> Result<UdpSocket> {
        let ip = self.validate(field)?;
        let sock = match self.port.filter(|p| *p != 0) {
            Some(port) => UdpSocket::bind(SocketAddr::new(ip, port))
                .map_err(|e| Error::Io(format!("cannot bind {field} [protocol:udp, ip:'{ip}', port:{port}]: {e}")))?,
            None => {
                let range = self.port_range.unwrap_or(fallback);
                let span = (range.max - range.min) as u32 + 1;
                let start = rand::thread_rng().gen_range(0..span);
                let mut found = None;
                for i in 0..span {
                    let port = range.min + ((start + i) % span) as u16;
                    match UdpSocket::bind(SocketAddr::new(ip, port)) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
                        Err(e) => return Err(Error::Io(format!("cannot bind {field} [protocol:udp, ip:'{ip}']: {e}"))),
                    }
                }
                found.ok_or_else(|| Error::Io(format!("no more available ports [protocol:udp, ip:'{ip}', range:{}-{}]", range.min, range.max)))?
            }
        };
        let s2 = socket2::SockRef::from(&sock);
        if let Some(n) = self.send_buffer_size {
            let _ = s2.set_send_buffer_size(n as usize);
        }
        // Unset, the receive buffer is raised from the kernel's ~200 kB default (about 90
        // full-size packets) so a publisher's key-frame burst is not dropped before the worker
        // reads it; the kernel caps it at net.core.rmem_max.
        let _ = s2.set_recv_buffer_size(self.recv_buffer_size.map_or(DEFAULT_UDP_RECV_BUFFER, |n| n as usize));
        super::io::enable_error_queue(&sock, ip.is_ipv6());
        super::io::enable_gro(&sock);
        sock.set_nonblocking(true)?;
        Ok(sock)
    }

    /// Binds a listening TCP socket, like [`ListenInfo::bind_udp`].
    pub(crate) fn bind_tcp(&self, field: &str, fallback: PortRange) -> Result<std::net::TcpListener> {
        let ip = self.validate(field)?;
        let bind = |port: u16| -> std::io::Result<std::net::TcpListener> {
            let addr = SocketAddr::new(ip, port);
            let s = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
            s.set_reuse_address(true)?;
            s.bind(&addr.into())?;
            s.listen(256)?;
            s.set_nonblocking(true)?;
            Ok(s.into())
        };
        if let Some(port) = self.port.filter(|p| *p != 0) {
            return bind(port).map_err(|e| Error::Io(format!("cannot bind {field} [protocol:tcp, ip:'{ip}', port:{port}]: {e}")));
        }
        let range = self.port_range.unwrap_or(fallback);
        let span = (range.max - range.min) as u32 + 1;
        let start = rand::thread_rng().gen_range(0..span);
        for i in 0..span {
            let port = range.min + ((start + i) % span) as u16;
            match bind(port) {
                Ok(l) => return Ok(l),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(Error::Io(format!("cannot bind {field} [protocol:tcp, ip:'{ip}']: {e}"))),
            }
        }
        Err(Error::Io(format!("no more available ports [protocol:tcp, ip:'{ip}', range:{}-{}]", range.min, range.max)))
    }
}
