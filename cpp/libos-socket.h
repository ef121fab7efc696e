/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
/*
 * ns3::LibosSocket: an ns3::Socket over a libos kernel file descriptor, and the
 * LibosTcpSocketFactory / LibosUdpSocketFactory / LibosRawSocketFactory that stock ns-3
 * applications use by naming the factory TypeId ("ns3::LibosTcpSocketFactory").
 */
#ifndef LIBOS_SOCKET_H
#define LIBOS_SOCKET_H

#include "ns3/nstime.h"
#include "ns3/socket-factory.h"
#include "ns3/socket.h"
#include "ns3/tcp-socket-factory.h"
#include "ns3/udp-socket-factory.h"
#include "ns3/traced-callback.h"
#include "ns3/traced-value.h"

#include <vector>

namespace ns3
{

class LibosKernel;

class LibosSocket : public Socket
{
public:
  static TypeId GetTypeId (void);
  LibosSocket ();
  ~LibosSocket () override;

  /** Opens the kernel socket (domain AF_INET); called by the factories. */
  bool Open (Ptr<LibosKernel> kernel, int type, int protocol);
  /** Wraps an accepted fd. */
  void Adopt (Ptr<LibosKernel> kernel, int fd, int type);
  /** A readiness change from the kernel (poll mask). */
  void HandleEvent (uint16_t revents);
  int GetFd (void) const;
  /** After a frame came in: samples tcp_info for the traces (attribute SampleOnRx). */
  void OnFrameIn (void);

  enum SocketErrno GetErrno (void) const override;
  enum SocketType GetSocketType (void) const override;
  Ptr<Node> GetNode (void) const override;
  int Bind (void) override;
  int Bind6 (void) override;
  int Bind (const Address &address) override;
  int Close (void) override;
  int ShutdownSend (void) override;
  int ShutdownRecv (void) override;
  int Connect (const Address &address) override;
  int Listen (void) override;
  uint32_t GetTxAvailable (void) const override;
  int Send (Ptr<Packet> p, uint32_t flags) override;
  int SendTo (Ptr<Packet> p, uint32_t flags, const Address &toAddress) override;
  uint32_t GetRxAvailable (void) const override;
  Ptr<Packet> Recv (uint32_t maxSize, uint32_t flags) override;
  Ptr<Packet> RecvFrom (uint32_t maxSize, uint32_t flags, Address &fromAddress) override;
  int GetSockName (Address &address) const override;
  int GetPeerName (Address &address) const override;
  bool SetAllowBroadcast (bool allowBroadcast) override;
  bool GetAllowBroadcast (void) const override;

protected:
  void DoDispose (void) override;

private:
  enum State
  {
    IDLE,
    CONNECTING,
    CONNECTED,
    LISTENING,
    CLOSED
  };
  int SetErr (int64_t r);
  void ApplyOptions (void);
  void FlushPending (void);
  void SampleTcpInfo (void);
  void AcceptAll (void);
  void Release (void);
  bool UseFamily6 (void);

  Ptr<LibosKernel> m_kernel;
  int m_fd;
  int m_type;
  int m_protocol;
  bool m_v6; // the kernel socket is AF_INET6 (IPV6_V6ONLY, as ns-3's Ipv6 sockets)
  State m_state;
  enum SocketErrno m_errno;
  bool m_allowBroadcast;
  bool m_shutRecv;
  bool m_eof;
  bool m_closeNotified;
  bool m_blocked;
  bool m_closeAfterFlush;
  bool m_shutSendAfterFlush;
  uint32_t m_unnotifiedSent;
  std::vector<uint8_t> m_pending;
  uint32_t m_sndBuf;
  uint32_t m_rcvBuf;
  std::string m_congestion;
  bool m_sampleOnRx;

  TracedValue<uint32_t> m_cWnd;
  TracedValue<Time> m_rtt;
  TracedCallback<Ptr<const Packet> > m_txTrace;
  TracedCallback<Ptr<const Packet> > m_rxTrace;
};

/* Subclasses of ns-3's TcpSocketFactory/UdpSocketFactory: on a libos node, applications
 * asking for "ns3::TcpSocketFactory" (UdpEchoClient, ...) get libos sockets too. */
class LibosTcpSocketFactory : public TcpSocketFactory
{
public:
  static TypeId GetTypeId (void);
  Ptr<Socket> CreateSocket (void) override;
};

class LibosUdpSocketFactory : public UdpSocketFactory
{
public:
  static TypeId GetTypeId (void);
  Ptr<Socket> CreateSocket (void) override;
};

/** SOCK_RAW sockets; the IP protocol number is the "Protocol" attribute (1 = ICMP). */
class LibosRawSocketFactory : public SocketFactory
{
public:
  static TypeId GetTypeId (void);
  LibosRawSocketFactory ();
  Ptr<Socket> CreateSocket (void) override;

private:
  uint16_t m_protocol;
};

} // namespace ns3

#endif /* LIBOS_SOCKET_H */
