/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
#include "libos-socket.h"

#include "libos-kernel.h"

#include "libos-ns3/rust/ns3/bridge.rs.h"

#include "ns3/boolean.h"
#include "ns3/inet-socket-address.h"
#include "ns3/inet6-socket-address.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include <algorithm>

NS_LOG_COMPONENT_DEFINE ("LibosSocket");

namespace ns3
{

NS_OBJECT_ENSURE_REGISTERED (LibosSocket);
NS_OBJECT_ENSURE_REGISTERED (LibosTcpSocketFactory);
NS_OBJECT_ENSURE_REGISTERED (LibosUdpSocketFactory);
NS_OBJECT_ENSURE_REGISTERED (LibosRawSocketFactory);

namespace
{
/* Linux ABI values (include/uapi). */
const int AF_INET_ = 2;
const int AF_INET6_ = 10;
const int IPPROTO_IPV6_ = 41;
const int IPV6_V6ONLY_ = 26;
const int IPPROTO_ICMPV6_ = 58;
const int SOCK_STREAM_ = 1;
const int SOCK_DGRAM_ = 2;
const int SOCK_RAW_ = 3;
const int SOL_SOCKET_ = 1;
const int SO_ERROR_ = 4;
const int SO_BROADCAST_ = 6;
const int SO_SNDBUF_ = 7;
const int SO_RCVBUF_ = 8;
const int IPPROTO_TCP_ = 6;
const int TCP_CONGESTION_ = 13;
const int SHUT_WR_ = 1;
const uint32_t FIONREAD_ = 0x541B;
const uint32_t SIOCOUTQ_ = 0x5411;
const uint16_t POLLIN_ = 0x1;
const uint16_t POLLOUT_ = 0x4;
const uint16_t POLLERR_ = 0x8;
const uint16_t POLLHUP_ = 0x10;
const uint16_t POLLRDHUP_ = 0x2000;
const int EAGAIN_ = 11;
const int EINPROGRESS_ = 115;
const uint32_t RECV_CHUNK = 65536;

Ptr<LibosKernel>
KernelOf (Ptr<Node> node, const char *factory)
{
  Ptr<LibosKernel> k = node ? node->GetObject<LibosKernel> () : nullptr;
  if (k == nullptr)
    {
      NS_FATAL_ERROR (factory << " used on node " << (node ? int (node->GetId ()) : -1)
                              << " which has no libos stack: call LibosStackHelper::Install "
                                 "on it first");
    }
  return k;
}
} // namespace

TypeId
LibosSocket::GetTypeId (void)
{
  static TypeId tid =
      TypeId ("ns3::LibosSocket")
          .SetParent<Socket> ()
          .SetGroupName ("Libos")
          .AddConstructor<LibosSocket> ()
          .AddAttribute ("SndBufSize", "SO_SNDBUF in bytes (0: the kernel's default)",
                         UintegerValue (0), MakeUintegerAccessor (&LibosSocket::m_sndBuf),
                         MakeUintegerChecker<uint32_t> ())
          .AddAttribute ("RcvBufSize", "SO_RCVBUF in bytes (0: the kernel's default)",
                         UintegerValue (0), MakeUintegerAccessor (&LibosSocket::m_rcvBuf),
                         MakeUintegerChecker<uint32_t> ())
          .AddAttribute ("CongestionControl",
                         "TCP_CONGESTION of TCP sockets (empty: the "
                         "net.ipv4.tcp_congestion_control sysctl)",
                         StringValue (""), MakeStringAccessor (&LibosSocket::m_congestion),
                         MakeStringChecker ())
          .AddAttribute ("SampleOnRx",
                         "sample tcp_info (CongestionWindow, RTT) on every frame the node "
                         "receives, not only on readiness events",
                         BooleanValue (true), MakeBooleanAccessor (&LibosSocket::m_sampleOnRx),
                         MakeBooleanChecker ())
          .AddTraceSource ("CongestionWindow", "cwnd in bytes (tcp_info snd_cwnd * snd_mss)",
                           MakeTraceSourceAccessor (&LibosSocket::m_cWnd),
                           "ns3::TracedValueCallback::Uint32")
          .AddTraceSource ("RTT", "smoothed RTT (tcp_info rtt)",
                           MakeTraceSourceAccessor (&LibosSocket::m_rtt),
                           "ns3::TracedValueCallback::Time")
          .AddTraceSource ("Tx", "application data handed to the kernel",
                           MakeTraceSourceAccessor (&LibosSocket::m_txTrace),
                           "ns3::Packet::TracedCallback")
          .AddTraceSource ("Rx", "application data read from the kernel",
                           MakeTraceSourceAccessor (&LibosSocket::m_rxTrace),
                           "ns3::Packet::TracedCallback");
  return tid;
}

LibosSocket::LibosSocket ()
  : m_fd (-1),
    m_type (SOCK_STREAM_),
    m_protocol (0),
    m_v6 (false),
    m_state (IDLE),
    m_errno (ERROR_NOTERROR),
    m_allowBroadcast (false),
    m_shutRecv (false),
    m_eof (false),
    m_closeNotified (false),
    m_blocked (false),
    m_closeAfterFlush (false),
    m_shutSendAfterFlush (false),
    m_unnotifiedSent (0),
    m_sndBuf (0),
    m_rcvBuf (0),
    m_sampleOnRx (true),
    m_cWnd (0),
    m_rtt (Seconds (0))
{
  NS_LOG_FUNCTION (this);
}

LibosSocket::~LibosSocket ()
{
  NS_LOG_FUNCTION (this);
  Release ();
}

void
LibosSocket::Release (void)
{
  if (m_kernel != nullptr && m_fd >= 0)
    {
      m_kernel->UnregisterSocket (m_fd);
      m_kernel->Handle ().close (m_kernel->Now (), m_fd);
      if (!Simulator::IsFinished ())
        {
          m_kernel->Service (true); // not while Simulator::Destroy disposes the devices
        }
    }
  m_fd = -1;
}

void
LibosSocket::DoDispose (void)
{
  Release ();
  m_kernel = nullptr;
  Socket::DoDispose ();
}

bool
LibosSocket::Open (Ptr<LibosKernel> kernel, int type, int protocol)
{
  m_kernel = kernel;
  m_type = type;
  m_protocol = protocol;
  // A raw IPPROTO_ICMPV6 socket exists only in AF_INET6 (ping -6).
  m_v6 = type == SOCK_RAW_ && protocol == IPPROTO_ICMPV6_;
  int fd = kernel->Handle ().socket (m_v6 ? AF_INET6_ : AF_INET_, type, protocol);
  if (fd < 0)
    {
      NS_LOG_WARN ("socket(" << type << ", " << protocol << ") failed: errno " << -fd);
      return false;
    }
  m_fd = fd;
  kernel->Handle ().set_nonblocking (fd, true);
  kernel->RegisterSocket (fd, this);
  return true;
}

/* ns-3 sockets get their family from the first address they see (Bind6, an
 * Inet6SocketAddress): the AF_INET socket Open made is swapped for an AF_INET6 one while
 * still unbound. IPV6_V6ONLY=1, so that an application's IPv4 and IPv6 sockets on one
 * port coexist as on ns-3's own stack (UdpEchoServer binds both). */
bool
LibosSocket::UseFamily6 (void)
{
  if (m_v6)
    {
      return true;
    }
  if (m_fd < 0 || m_state != IDLE)
    {
      return false;
    }
  int fd = m_kernel->Handle ().socket (AF_INET6_, m_type, m_protocol);
  if (fd < 0)
    {
      return false;
    }
  m_kernel->UnregisterSocket (m_fd);
  m_kernel->Handle ().close (m_kernel->Now (), m_fd);
  m_fd = fd;
  m_v6 = true;
  m_kernel->Handle ().set_nonblocking (fd, true);
  m_kernel->Handle ().setsockopt_int (m_kernel->Now (), fd, IPPROTO_IPV6_, IPV6_V6ONLY_, 1);
  if (m_allowBroadcast)
    {
      SetAllowBroadcast (true);
    }
  m_kernel->RegisterSocket (fd, this);
  return true;
}

static Address
ToAddress (const libos::SockAddr6 &a)
{
  return Inet6SocketAddress (Ipv6Address (const_cast<uint8_t *> (a.addr.data ())), a.port);
}

static libos::SockAddr6
ToSockAddr6 (const Inet6SocketAddress &a)
{
  libos::SockAddr6 s;
  a.GetIpv6 ().GetBytes (s.addr.data ());
  s.port = a.GetPort ();
  s.scope_id = 0;
  return s;
}

void
LibosSocket::Adopt (Ptr<LibosKernel> kernel, int fd, int type)
{
  m_kernel = kernel;
  m_type = type;
  m_fd = fd;
  m_state = CONNECTED;
  kernel->Handle ().set_nonblocking (fd, true);
  kernel->RegisterSocket (fd, this);
}

void
LibosSocket::ApplyOptions (void)
{
  uint64_t now = m_kernel->Now ();
  if (m_sndBuf != 0)
    {
      m_kernel->Handle ().setsockopt_int (now, m_fd, SOL_SOCKET_, SO_SNDBUF_, m_sndBuf);
    }
  if (m_rcvBuf != 0)
    {
      m_kernel->Handle ().setsockopt_int (now, m_fd, SOL_SOCKET_, SO_RCVBUF_, m_rcvBuf);
    }
  if (m_type == SOCK_STREAM_ && !m_congestion.empty ())
    {
      int r = m_kernel->Handle ().setsockopt (
          now, m_fd, IPPROTO_TCP_, TCP_CONGESTION_,
          rust::Slice<const uint8_t> ((const uint8_t *) m_congestion.data (), m_congestion.size ()));
      if (r < 0)
        {
          NS_FATAL_ERROR ("LibosSocket: unknown congestion control \"" << m_congestion << "\"");
        }
    }
}

int
LibosSocket::GetFd (void) const
{
  return m_fd;
}

int
LibosSocket::SetErr (int64_t r)
{
  switch (-r)
    {
    case EAGAIN_:
      m_errno = ERROR_AGAIN;
      break;
    case 9:
      m_errno = ERROR_BADF;
      break;
    case 22:
      m_errno = ERROR_INVAL;
      break;
    case 32:
    case 107:
      m_errno = ERROR_NOTCONN;
      break;
    case 90:
      m_errno = ERROR_MSGSIZE;
      break;
    case 95:
      m_errno = ERROR_OPNOTSUPP;
      break;
    case 98:
      m_errno = ERROR_ADDRINUSE;
      break;
    case 99:
      m_errno = ERROR_ADDRNOTAVAIL;
      break;
    case 101:
    case 113:
      m_errno = ERROR_NOROUTETOHOST;
      break;
    case 106:
      m_errno = ERROR_ISCONN;
      break;
    default:
      m_errno = ERROR_INVAL;
    }
  return -1;
}

enum Socket::SocketErrno
LibosSocket::GetErrno (void) const
{
  return m_errno;
}

enum Socket::SocketType
LibosSocket::GetSocketType (void) const
{
  return m_type == SOCK_STREAM_ ? NS3_SOCK_STREAM
                                : m_type == SOCK_DGRAM_ ? NS3_SOCK_DGRAM : NS3_SOCK_RAW;
}

Ptr<Node>
LibosSocket::GetNode (void) const
{
  return m_kernel ? m_kernel->GetNode () : nullptr;
}

int
LibosSocket::Bind (void)
{
  return Bind (InetSocketAddress (Ipv4Address::GetAny (), 0));
}

int
LibosSocket::Bind6 (void)
{
  return Bind (Inet6SocketAddress (Ipv6Address::GetAny (), 0));
}

int
LibosSocket::Bind (const Address &address)
{
  NS_LOG_FUNCTION (this << address);
  if (Inet6SocketAddress::IsMatchingType (address))
    {
      if (!UseFamily6 ())
        {
          m_errno = ERROR_INVAL;
          return -1;
        }
      ApplyOptions ();
      libos::SockAddr6 a = ToSockAddr6 (Inet6SocketAddress::ConvertFrom (address));
      int r = m_kernel->Handle ().bind6 (m_fd, a);
      return r < 0 ? SetErr (r) : 0;
    }
  if (!InetSocketAddress::IsMatchingType (address))
    {
      m_errno = ERROR_AFNOSUPPORT;
      return -1;
    }
  InetSocketAddress a = InetSocketAddress::ConvertFrom (address);
  ApplyOptions ();
  int r = m_kernel->Handle ().bind (m_fd, a.GetIpv4 ().Get (), a.GetPort ());
  return r < 0 ? SetErr (r) : 0;
}

int
LibosSocket::Connect (const Address &address)
{
  NS_LOG_FUNCTION (this << address);
  bool v6 = Inet6SocketAddress::IsMatchingType (address);
  if (!v6 && !InetSocketAddress::IsMatchingType (address))
    {
      m_errno = ERROR_AFNOSUPPORT;
      return -1;
    }
  if (v6 && !UseFamily6 ())
    {
      m_errno = ERROR_INVAL;
      return -1;
    }
  if (m_state == IDLE)
    {
      ApplyOptions ();
    }
  int r;
  if (v6)
    {
      libos::SockAddr6 a = ToSockAddr6 (Inet6SocketAddress::ConvertFrom (address));
      r = m_kernel->Handle ().connect6 (m_kernel->Now (), m_fd, a);
    }
  else
    {
      InetSocketAddress a = InetSocketAddress::ConvertFrom (address);
      r = m_kernel->Handle ().connect (m_kernel->Now (), m_fd, a.GetIpv4 ().Get (), a.GetPort ());
    }
  m_kernel->Service (true);
  if (r == -EINPROGRESS_)
    {
      m_state = CONNECTING;
      return 0;
    }
  if (r < 0)
    {
      return SetErr (r);
    }
  m_state = CONNECTED;
  NotifyConnectionSucceeded (); // as ns-3's UdpSocketImpl: datagram connect is immediate
  return 0;
}

int
LibosSocket::Listen (void)
{
  int r = m_kernel->Handle ().listen (m_fd, 128);
  if (r < 0)
    {
      return SetErr (r);
    }
  m_state = LISTENING;
  return 0;
}

int
LibosSocket::Close (void)
{
  NS_LOG_FUNCTION (this);
  if (m_fd < 0)
    {
      m_errno = ERROR_BADF;
      return -1;
    }
  if (!m_pending.empty ())
    {
      m_closeAfterFlush = true; // close(2) on Linux would still send the queued bytes
      return 0;
    }
  m_state = CLOSED;
  Release ();
  return 0;
}

int
LibosSocket::ShutdownSend (void)
{
  if (m_fd < 0)
    {
      m_errno = ERROR_BADF;
      return -1;
    }
  if (!m_pending.empty ())
    {
      m_shutSendAfterFlush = true;
      return 0;
    }
  int r = m_kernel->Handle ().shutdown (m_kernel->Now (), m_fd, SHUT_WR_);
  m_kernel->Service (true);
  return r < 0 && m_type == SOCK_STREAM_ ? SetErr (r) : 0;
}

int
LibosSocket::ShutdownRecv (void)
{
  // Local only, as ns-3's sockets do: later data is read and discarded.
  m_shutRecv = true;
  return 0;
}

uint32_t
LibosSocket::GetTxAvailable (void) const
{
  if (m_fd < 0 || !m_pending.empty ())
    {
      return 0;
    }
  if (m_type != SOCK_STREAM_)
    {
      return 65507;
    }
  int32_t sndbuf = 0;
  m_kernel->Handle ().getsockopt_int (m_fd, SOL_SOCKET_, SO_SNDBUF_, sndbuf);
  int outq = m_kernel->Handle ().ioctl (m_fd, SIOCOUTQ_, 0);
  int64_t avail = int64_t (sndbuf / 2) - std::max (outq, 0);
  return avail > 0 ? uint32_t (avail) : 0;
}

void
LibosSocket::FlushPending (void)
{
  while (!m_pending.empty () && m_fd >= 0)
    {
      int64_t r = m_kernel->Handle ().send (
          m_kernel->Now (), m_fd,
          rust::Slice<const uint8_t> (m_pending.data (), m_pending.size ()), 0);
      if (r <= 0)
        {
          break;
        }
      m_unnotifiedSent += r;
      m_pending.erase (m_pending.begin (), m_pending.begin () + r);
    }
  if (m_pending.empty () && m_fd >= 0)
    {
      if (m_shutSendAfterFlush)
        {
          m_shutSendAfterFlush = false;
          m_kernel->Handle ().shutdown (m_kernel->Now (), m_fd, SHUT_WR_);
        }
      if (m_closeAfterFlush)
        {
          m_closeAfterFlush = false;
          m_state = CLOSED;
          Release ();
        }
    }
}

int
LibosSocket::Send (Ptr<Packet> p, uint32_t flags)
{
  NS_LOG_FUNCTION (this << p);
  if (m_fd < 0)
    {
      m_errno = ERROR_BADF;
      return -1;
    }
  if (m_type == SOCK_STREAM_ && m_state != CONNECTED)
    {
      m_errno = ERROR_NOTCONN;
      return -1;
    }
  if (!m_pending.empty ())
    {
      m_blocked = true;
      m_errno = ERROR_AGAIN;
      return -1;
    }
  uint32_t size = p->GetSize ();
  std::vector<uint8_t> buf (size);
  p->CopyData (buf.data (), size);
  int64_t r = m_kernel->Handle ().send (m_kernel->Now (), m_fd,
                                        rust::Slice<const uint8_t> (buf.data (), size), 0);
  m_kernel->Service (true);
  if (r < 0)
    {
      if (-r == EAGAIN_)
        {
          m_blocked = true;
        }
      return SetErr (r);
    }
  if (m_type == SOCK_STREAM_ && uint32_t (r) < size)
    {
      // ns-3 applications expect all or nothing: keep the tail, send it on POLLOUT.
      m_pending.assign (buf.begin () + r, buf.end ());
      m_blocked = true;
    }
  m_unnotifiedSent += r;
  m_txTrace (p);
  return size;
}

int
LibosSocket::SendTo (Ptr<Packet> p, uint32_t flags, const Address &toAddress)
{
  NS_LOG_FUNCTION (this << p << toAddress);
  bool v6 = Inet6SocketAddress::IsMatchingType (toAddress);
  if (m_type == SOCK_STREAM_ || (!v6 && !InetSocketAddress::IsMatchingType (toAddress)))
    {
      return Send (p, flags);
    }
  if (m_fd < 0)
    {
      m_errno = ERROR_BADF;
      return -1;
    }
  if (v6 && !UseFamily6 ())
    {
      m_errno = ERROR_AFNOSUPPORT;
      return -1;
    }
  uint32_t size = p->GetSize ();
  std::vector<uint8_t> buf (size);
  p->CopyData (buf.data (), size);
  rust::Slice<const uint8_t> data (buf.data (), size);
  int64_t r;
  if (v6)
    {
      libos::SockAddr6 to = ToSockAddr6 (Inet6SocketAddress::ConvertFrom (toAddress));
      r = m_kernel->Handle ().sendto6 (m_kernel->Now (), m_fd, data, 0, to);
    }
  else
    {
      InetSocketAddress a = InetSocketAddress::ConvertFrom (toAddress);
      libos::SockAddr4 to;
      to.addr = a.GetIpv4 ().Get ();
      to.port = a.GetPort ();
      r = m_kernel->Handle ().sendto (m_kernel->Now (), m_fd, data, 0, to);
    }
  m_kernel->Service (true);
  if (r < 0)
    {
      return SetErr (r);
    }
  m_unnotifiedSent += r;
  m_txTrace (p);
  return r;
}

uint32_t
LibosSocket::GetRxAvailable (void) const
{
  if (m_fd < 0)
    {
      return 0;
    }
  int r = m_kernel->Handle ().ioctl (m_fd, FIONREAD_, 0);
  return r > 0 ? r : 0;
}

Ptr<Packet>
LibosSocket::Recv (uint32_t maxSize, uint32_t flags)
{
  Address from;
  return RecvFrom (maxSize, flags, from);
}

Ptr<Packet>
LibosSocket::RecvFrom (uint32_t maxSize, uint32_t flags, Address &fromAddress)
{
  if (m_fd < 0)
    {
      m_errno = ERROR_BADF;
      return nullptr;
    }
  uint32_t len = std::min (maxSize, RECV_CHUNK);
  std::vector<uint8_t> buf (len);
  libos::SockAddr4 from;
  libos::SockAddr6 from6;
  rust::Slice<uint8_t> out (buf.data (), len);
  int64_t r = m_v6 ? m_kernel->Handle ().recvfrom6 (m_kernel->Now (), m_fd, out, 0, from6)
                   : m_kernel->Handle ().recvfrom (m_kernel->Now (), m_fd, out, 0, from);
  m_kernel->Service (true);
  if (r < 0)
    {
      SetErr (r);
      return nullptr;
    }
  if (r == 0 && m_type == SOCK_STREAM_)
    {
      m_eof = true;
      m_errno = ERROR_NOTERROR;
      return nullptr;
    }
  if (m_type == SOCK_STREAM_)
    {
      GetPeerName (fromAddress);
    }
  else
    {
      fromAddress = m_v6 ? ToAddress (from6)
                         : Address (InetSocketAddress (Ipv4Address (from.addr), from.port));
    }
  Ptr<Packet> p = Create<Packet> (buf.data (), r);
  m_rxTrace (p);
  return p;
}

int
LibosSocket::GetSockName (Address &address) const
{
  if (m_v6)
    {
      libos::SockAddr6 a6;
      if (m_fd < 0 || m_kernel->Handle ().getsockname6 (m_fd, a6) < 0)
        {
          return -1;
        }
      address = ToAddress (a6);
      return 0;
    }
  libos::SockAddr4 a;
  int r = m_fd < 0 ? -9 : m_kernel->Handle ().getsockname (m_fd, a);
  if (r < 0)
    {
      return -1;
    }
  address = InetSocketAddress (Ipv4Address (a.addr), a.port);
  return 0;
}

int
LibosSocket::GetPeerName (Address &address) const
{
  if (m_v6)
    {
      libos::SockAddr6 a6;
      if (m_fd < 0 || m_kernel->Handle ().getpeername6 (m_fd, a6) < 0)
        {
          return -1;
        }
      address = ToAddress (a6);
      return 0;
    }
  libos::SockAddr4 a;
  int r = m_fd < 0 ? -9 : m_kernel->Handle ().getpeername (m_fd, a);
  if (r < 0)
    {
      return -1;
    }
  address = InetSocketAddress (Ipv4Address (a.addr), a.port);
  return 0;
}

bool
LibosSocket::SetAllowBroadcast (bool allowBroadcast)
{
  m_allowBroadcast = allowBroadcast;
  if (m_fd >= 0 && m_type != SOCK_STREAM_)
    {
      m_kernel->Handle ().setsockopt_int (m_kernel->Now (), m_fd, SOL_SOCKET_, SO_BROADCAST_,
                                          allowBroadcast ? 1 : 0);
    }
  return m_type != SOCK_STREAM_ || !allowBroadcast;
}

bool
LibosSocket::GetAllowBroadcast (void) const
{
  return m_allowBroadcast;
}

void
LibosSocket::SampleTcpInfo (void)
{
  libos::TcpInfoSample s;
  if (m_fd < 0 || m_kernel->Handle ().tcp_info (m_fd, s) < 0)
    {
      return;
    }
  uint32_t cwnd = s.snd_cwnd * s.snd_mss;
  if (cwnd != m_cWnd.Get ())
    {
      m_cWnd = cwnd;
    }
  Time rtt = MicroSeconds (s.rtt_us);
  if (s.rtt_us != 0 && rtt != m_rtt.Get ())
    {
      m_rtt = rtt;
    }
}

void
LibosSocket::OnFrameIn (void)
{
  if (m_sampleOnRx && m_type == SOCK_STREAM_ && m_state == CONNECTED)
    {
      SampleTcpInfo ();
    }
}

void
LibosSocket::AcceptAll (void)
{
  while (m_fd >= 0)
    {
      libos::SockAddr4 peer;
      libos::SockAddr6 peer6;
      int fd = m_v6 ? m_kernel->Handle ().accept6 (m_kernel->Now (), m_fd, peer6)
                    : m_kernel->Handle ().accept (m_kernel->Now (), m_fd, peer);
      if (fd < 0)
        {
          break;
        }
      Address from =
          m_v6 ? ToAddress (peer6) : Address (InetSocketAddress (Ipv4Address (peer.addr), peer.port));
      if (!NotifyConnectionRequest (from))
        {
          m_kernel->Handle ().close (m_kernel->Now (), fd);
          continue;
        }
      Ptr<LibosSocket> s = CreateObject<LibosSocket> ();
      s->m_sndBuf = m_sndBuf;
      s->m_rcvBuf = m_rcvBuf;
      s->m_v6 = m_v6;
      s->Adopt (m_kernel, fd, m_type);
      NotifyNewConnectionCreated (s, from);
      // Data may have arrived with the handshake, before the socket had an owner.
      int mask = m_kernel->Handle ().poll (fd);
      if (mask > 0 && (mask & (POLLIN_ | POLLRDHUP_)))
        {
          Simulator::ScheduleWithContext (m_kernel->GetNode ()->GetId (), NanoSeconds (0),
                                          &LibosSocket::HandleEvent, s, uint16_t (mask));
        }
    }
}

void
LibosSocket::HandleEvent (uint16_t revents)
{
  NS_LOG_FUNCTION (this << revents);
  Ptr<LibosSocket> self (this); // callbacks may drop the application's reference
  if (m_fd < 0)
    {
      return;
    }
  if (m_type == SOCK_STREAM_)
    {
      SampleTcpInfo ();
    }
  if (m_state == LISTENING)
    {
      if (revents & POLLIN_)
        {
          AcceptAll ();
        }
      return;
    }
  if (m_state == CONNECTING)
    {
      // The state now, not the queued event: an AF_INET6 socket swapped in by UseFamily6
      // still has its creation event (POLLOUT|POLLHUP, unconnected) in the queue.
      int now = m_kernel->Handle ().poll (m_fd);
      if (now >= 0)
        {
          revents = uint16_t (now);
        }
      if (revents & (POLLERR_ | POLLHUP_))
        {
          int32_t soerr = 0;
          m_kernel->Handle ().getsockopt_int (m_fd, SOL_SOCKET_, SO_ERROR_, soerr);
          NS_LOG_INFO ("connect failed: errno " << soerr);
          m_state = CLOSED;
          SetErr (-soerr);
          NotifyConnectionFailed ();
          return;
        }
      if (!(revents & POLLOUT_))
        {
          return;
        }
      m_state = CONNECTED;
      NotifyConnectionSucceeded ();
      if (m_fd < 0)
        {
          return;
        }
    }
  if (revents & (POLLIN_ | POLLRDHUP_))
    {
      if (m_shutRecv)
        {
          Address from;
          while (m_fd >= 0 && RecvFrom (RECV_CHUNK, 0, from) != nullptr)
            {
            }
        }
      else
        {
          NotifyDataRecv ();
        }
    }
  if (m_fd >= 0 && (revents & POLLOUT_))
    {
      FlushPending ();
      if (m_unnotifiedSent > 0)
        {
          uint32_t n = m_unnotifiedSent;
          m_unnotifiedSent = 0;
          NotifyDataSent (n);
        }
      if (m_fd >= 0 && m_pending.empty () && m_blocked)
        {
          m_blocked = false;
          NotifySend (GetTxAvailable ());
        }
    }
  if (m_type != SOCK_STREAM_ || m_closeNotified || m_fd < 0)
    {
      return;
    }
  if ((revents & POLLERR_) && m_state == CONNECTED)
    {
      m_closeNotified = true;
      NotifyErrorClose ();
    }
  else if (m_eof || ((revents & POLLRDHUP_) && m_shutRecv))
    {
      m_closeNotified = true;
      NotifyNormalClose ();
    }
}

/* ---- factories ------------------------------------------------------------------ */

TypeId
LibosTcpSocketFactory::GetTypeId (void)
{
  static TypeId tid = TypeId ("ns3::LibosTcpSocketFactory")
                          .SetParent<TcpSocketFactory> ()
                          .SetGroupName ("Libos")
                          .AddConstructor<LibosTcpSocketFactory> ();
  return tid;
}

Ptr<Socket>
LibosTcpSocketFactory::CreateSocket (void)
{
  Ptr<LibosKernel> k = KernelOf (GetObject<Node> (), "ns3::LibosTcpSocketFactory");
  Ptr<LibosSocket> s = CreateObject<LibosSocket> ();
  if (!s->Open (k, SOCK_STREAM_, 0))
    {
      return nullptr;
    }
  return s;
}

TypeId
LibosUdpSocketFactory::GetTypeId (void)
{
  static TypeId tid = TypeId ("ns3::LibosUdpSocketFactory")
                          .SetParent<UdpSocketFactory> ()
                          .SetGroupName ("Libos")
                          .AddConstructor<LibosUdpSocketFactory> ();
  return tid;
}

Ptr<Socket>
LibosUdpSocketFactory::CreateSocket (void)
{
  Ptr<LibosKernel> k = KernelOf (GetObject<Node> (), "ns3::LibosUdpSocketFactory");
  Ptr<LibosSocket> s = CreateObject<LibosSocket> ();
  if (!s->Open (k, SOCK_DGRAM_, 0))
    {
      return nullptr;
    }
  return s;
}

TypeId
LibosRawSocketFactory::GetTypeId (void)
{
  static TypeId tid = TypeId ("ns3::LibosRawSocketFactory")
                          .SetParent<SocketFactory> ()
                          .SetGroupName ("Libos")
                          .AddConstructor<LibosRawSocketFactory> ()
                          .AddAttribute ("Protocol", "IP protocol of new raw sockets (1: ICMP)",
                                         UintegerValue (1),
                                         MakeUintegerAccessor (&LibosRawSocketFactory::m_protocol),
                                         MakeUintegerChecker<uint16_t> ());
  return tid;
}

LibosRawSocketFactory::LibosRawSocketFactory ()
  : m_protocol (1)
{
}

Ptr<Socket>
LibosRawSocketFactory::CreateSocket (void)
{
  Ptr<LibosKernel> k = KernelOf (GetObject<Node> (), "ns3::LibosRawSocketFactory");
  Ptr<LibosSocket> s = CreateObject<LibosSocket> ();
  if (!s->Open (k, SOCK_RAW_, m_protocol))
    {
      return nullptr;
    }
  return s;
}

} // namespace ns3
