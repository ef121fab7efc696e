/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
/*
 * A chain h0 - r1 - r2 - ... - h(N+1) of libos nodes over point-to-point links, routes set
 * with iproute2 command lines (LibosStackHelper::RunIp), forwarding by sysctl. End to end:
 *   - ping: ICMP echo over a libos raw socket (LibosRawSocketFactory, our small app:
 *     ns-3's V4Ping needs ns-3's own Ipv4 stack),
 *   - ns-3's stock UdpEchoClient/Server (they ask for ns3::UdpSocketFactory; libos
 *     provides it).
 * With --populate: addresses from AssignAddresses(6), routes and forwarding from
 * LibosStackHelper::PopulateRoutingTables instead of command lines.
 * With --ipv6: link i is 2001:db8:<i+1>::/64, routes with "-6 route add", forwarding by
 * .net.ipv6.conf.all.forwarding, ping -6 (raw ICMPv6, the factory's Protocol = 58) and the
 * UDP echo over IPv6.
 *   examples/ns3/run.sh router-chain [--routers=2 --count=5 --ipv6 --populate]
 */
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/libos-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <iostream>
#include <map>
#include <sstream>

using namespace ns3;

/* ICMP echo over a raw socket, like ping(8): prints one line per reply. */
class RawPing : public Application
{
public:
  RawPing (Ipv4Address dst, uint32_t count, Time interval)
    : m_dst (dst), m_v6 (false), m_count (count), m_interval (interval), m_sent (0),
      m_replies (0)
  {
  }
  /* ping -6: a raw ICMPv6 socket (the factory's Protocol 58), echo types 128/129, the
   * checksum left to the kernel (RFC 3542 §3.1). */
  RawPing (Ipv6Address dst, uint32_t count, Time interval)
    : m_dst6 (dst), m_v6 (true), m_count (count), m_interval (interval), m_sent (0),
      m_replies (0)
  {
  }
  uint32_t Replies (void) const
  {
    return m_replies;
  }
  uint32_t Sent (void) const
  {
    return m_sent;
  }

private:
  void StartApplication (void) override
  {
    Ptr<LibosRawSocketFactory> f = GetNode ()->GetObject<LibosRawSocketFactory> ();
    f->SetAttribute ("Protocol", UintegerValue (m_v6 ? 58 : 1));
    m_socket = f->CreateSocket ();
    f->SetAttribute ("Protocol", UintegerValue (1));
    m_socket->SetRecvCallback (MakeCallback (&RawPing::Read, this));
    Send ();
  }
  void StopApplication (void) override
  {
    m_event.Cancel ();
    if (m_socket)
      {
        m_socket->Close ();
      }
  }
  static uint16_t Checksum (const uint8_t *b, size_t n)
  {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
      {
        sum += (b[i] << 8) | b[i + 1];
      }
    if (n & 1)
      {
        sum += b[n - 1] << 8;
      }
    while (sum >> 16)
      {
        sum = (sum & 0xffff) + (sum >> 16);
      }
    return ~sum;
  }
  void Send (void)
  {
    uint8_t msg[64] = {8, 0, 0, 0, 0x12, 0x34, 0, 0};
    msg[6] = m_sent >> 8;
    msg[7] = m_sent & 0xff;
    for (int i = 8; i < 64; ++i)
      {
        msg[i] = i;
      }
    m_sentAt[m_sent] = Simulator::Now ();
    if (m_v6)
      {
        msg[0] = 128;
        m_socket->SendTo (Create<Packet> (msg, sizeof msg), 0, Inet6SocketAddress (m_dst6, 0));
      }
    else
      {
        uint16_t c = Checksum (msg, sizeof msg);
        msg[2] = c >> 8;
        msg[3] = c & 0xff;
        m_socket->SendTo (Create<Packet> (msg, sizeof msg), 0, InetSocketAddress (m_dst, 0));
      }
    if (++m_sent < m_count)
      {
        m_event = Simulator::Schedule (m_interval, &RawPing::Send, this);
      }
  }
  void Read (Ptr<Socket> s)
  {
    Address from;
    Ptr<Packet> p;
    while ((p = s->RecvFrom (from)))
      {
        std::vector<uint8_t> b (p->GetSize ());
        p->CopyData (b.data (), b.size ());
        if (m_v6)
          {
            // Raw ICMPv6 sockets deliver the message alone, its checksum verified.
            if (b.size () < 8 || b[0] != 129 || b[4] != 0x12 || b[5] != 0x34)
              {
                continue;
              }
            uint16_t seq = (b[6] << 8) | b[7];
            m_replies++;
            std::cout << b.size () << " bytes from "
                      << Inet6SocketAddress::ConvertFrom (from).GetIpv6 () << ": icmp_seq=" << seq
                      << " time=" << (Simulator::Now () - m_sentAt[seq]).GetMicroSeconds () / 1000.0
                      << " ms" << std::endl;
            continue;
          }
        if (b.size () < 28)
          {
            continue;
          }
        size_t ihl = (b[0] & 0xf) * 4;
        const uint8_t *icmp = &b[ihl];
        if (b.size () < ihl + 8 || icmp[0] != 0 || icmp[4] != 0x12 || icmp[5] != 0x34)
          {
            continue;
          }
        uint16_t seq = (icmp[6] << 8) | icmp[7];
        m_replies++;
        std::cout << (b.size () - ihl) << " bytes from " << Ipv4Address::ConvertFrom (
                         InetSocketAddress::ConvertFrom (from).GetIpv4 ())
                  << ": icmp_seq=" << seq << " ttl=" << int (b[8]) << " time="
                  << (Simulator::Now () - m_sentAt[seq]).GetMicroSeconds () / 1000.0 << " ms"
                  << std::endl;
      }
  }

  Ipv4Address m_dst;
  Ipv6Address m_dst6;
  bool m_v6;
  uint32_t m_count;
  Time m_interval;
  uint32_t m_sent;
  uint32_t m_replies;
  Ptr<Socket> m_socket;
  EventId m_event;
  std::map<uint16_t, Time> m_sentAt;
};

static uint32_t g_echo = 0;

static void
EchoRx (Ptr<const Packet> p)
{
  g_echo++;
}

int
main (int argc, char *argv[])
{
  uint32_t routers = 2;
  uint32_t count = 5;
  CommandLine cmd (__FILE__);
  cmd.AddValue ("routers", "routers between the two hosts", routers);
  cmd.AddValue ("count", "pings and UDP echoes", count);
  bool ipv6 = false;
  cmd.AddValue ("ipv6", "IPv6 addresses and routes, UDP echo over IPv6", ipv6);
  bool populate = false;
  cmd.AddValue ("populate", "routes and forwarding from LibosStackHelper::PopulateRoutingTables",
                populate);
  cmd.Parse (argc, argv);

  uint32_t n = routers + 2;
  NodeContainer nodes;
  nodes.Create (n);
  PointToPointHelper p2p;
  p2p.SetDeviceAttribute ("DataRate", StringValue ("100Mbps"));
  p2p.SetChannelAttribute ("Delay", StringValue ("1ms"));
  std::vector<NetDeviceContainer> links;
  for (uint32_t i = 0; i + 1 < n; ++i)
    {
      links.push_back (p2p.Install (nodes.Get (i), nodes.Get (i + 1)));
    }
  LibosStackHelper stack;
  stack.Install (nodes);
  // Link i is 10.0.i.0/24: node i is .1 (its eth1, or eth0 for h0), node i+1 is .2 (eth0).
  for (uint32_t i = 0; i + 1 < n; ++i)
    {
      std::ostringstream a, b;
      if (ipv6)
        {
          // AssignAddresses6 gives ::1 and ::2 (as "-6 addr add ... nodad" would).
          std::ostringstream net;
          net << "2001:db8:" << (i + 1) << "::";
          stack.AssignAddresses6 (links[i], Ipv6Address (net.str ().c_str ()), Ipv6Prefix (64));
          continue;
        }
      if (populate)
        {
          std::ostringstream net;
          net << "10.0." << i << ".0";
          stack.AssignAddresses (links[i], Ipv4Address (net.str ().c_str ()),
                                 Ipv4Mask ("255.255.255.0"));
          continue;
        }
      a << "addr add 10.0." << i << ".1/24 dev eth" << (i == 0 ? 0 : 1);
      b << "addr add 10.0." << i << ".2/24 dev eth0";
      stack.RunIp (nodes.Get (i), Seconds (0), a.str ());
      stack.RunIp (nodes.Get (i + 1), Seconds (0), b.str ());
    }
  if (populate)
    {
      LibosStackHelper::PopulateRoutingTables ();
    }
  for (uint32_t i = 0; i < n && !populate; ++i)
    {
      if (i != 0 && i + 1 != n)
        {
          stack.SysctlSet (nodes.Get (i),
                           ipv6 ? ".net.ipv6.conf.all.forwarding" : ".net.ipv4.ip_forward", "1");
        }
      // Everything left of node i goes via its left neighbour, the rest via its right one.
      for (uint32_t l = 0; l + 1 < n; ++l)
        {
          std::ostringstream r;
          if (ipv6 && l + 1 < i)
            {
              r << "-6 route add 2001:db8:" << (l + 1) << "::/64 via 2001:db8:" << i << "::1";
            }
          else if (ipv6 && l > i)
            {
              r << "-6 route add 2001:db8:" << (l + 1) << "::/64 via 2001:db8:" << (i + 1)
                << "::2";
            }
          else if (l + 1 < i)
            {
              r << "route add 10.0." << l << ".0/24 via 10.0." << (i - 1) << ".1";
            }
          else if (l > i)
            {
              r << "route add 10.0." << l << ".0/24 via 10.0." << i << ".2";
            }
          else
            {
              continue;
            }
          stack.RunIp (nodes.Get (i), Seconds (0.001), r.str ());
        }
    }
  std::ostringstream dstS;
  dstS << "10.0." << (n - 2) << ".2";
  Ipv4Address dst (dstS.str ().c_str ());
  std::ostringstream dst6S;
  dst6S << "2001:db8:" << (n - 1) << "::2";
  Address echoDst = ipv6 ? Address (Ipv6Address (dst6S.str ().c_str ())) : Address (dst);

  Ptr<RawPing> ping = ipv6 ? CreateObject<RawPing> (Ipv6Address (dst6S.str ().c_str ()), count,
                                                   Seconds (1))
                           : CreateObject<RawPing> (dst, count, Seconds (1));
  nodes.Get (0)->AddApplication (ping);
  ping->SetStartTime (Seconds (1));

  UdpEchoServerHelper server (7);
  server.Install (nodes.Get (n - 1)).Start (Seconds (0));
  UdpEchoClientHelper client (echoDst, 7);
  client.SetAttribute ("MaxPackets", UintegerValue (count));
  client.SetAttribute ("Interval", TimeValue (Seconds (1)));
  ApplicationContainer c = client.Install (nodes.Get (0));
  c.Start (Seconds (1.5));
  c.Get (0)->TraceConnectWithoutContext ("Rx", MakeCallback (&EchoRx));

  Simulator::Stop (Seconds (count + 3));
  Simulator::Run ();
  std::string routes;
  nodes.Get (0)->GetObject<LibosKernel> ()->RunIp (ipv6 ? "-6 route show" : "route show",
                                                   routes);
  std::cout << "h0 routes:\n" << routes;
  std::cout << "routers=" << routers << " ping_sent=" << ping->Sent ()
            << " ping_replies=" << ping->Replies () << " udp_echo_replies=" << g_echo << std::endl;
  Simulator::Destroy ();
  return 0;
}
