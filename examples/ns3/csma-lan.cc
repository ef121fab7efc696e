/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
/*
 * An Ethernet LAN (CsmaNetDevice, so ARP runs inside libos): three libos nodes and one
 * node with ns-3's own stack.
 *   TCP  libos n0 BulkSend -> libos n2 PacketSink
 *   UDP  libos n1 UdpEchoClient -> ns-3 n3 UdpEchoServer (ARP between libos and ns-3)
 * With --ipv6 the same over IPv6 (2001:db8:5::/64, neighbour discovery between libos and
 * ns-3; the applications start after DAD, which keeps new addresses tentative ~1-2 s).
 *   examples/ns3/run.sh csma-lan [--bytes=2000000 --pcap=prefix --ipv6]
 */
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/internet-module.h"
#include "ns3/libos-module.h"
#include "ns3/network-module.h"

#include <iostream>

using namespace ns3;

static uint32_t g_echo = 0;

static void
EchoRx (Ptr<const Packet> p)
{
  g_echo++;
}

int
main (int argc, char *argv[])
{
  uint64_t bytes = 2000000;
  std::string pcap = "";
  CommandLine cmd (__FILE__);
  cmd.AddValue ("bytes", "bytes n0 sends to n2", bytes);
  cmd.AddValue ("pcap", "pcap file prefix (empty: none)", pcap);
  bool ipv6 = false;
  cmd.AddValue ("ipv6", "IPv6 instead of IPv4", ipv6);
  cmd.Parse (argc, argv);

  NodeContainer nodes;
  nodes.Create (4);
  CsmaHelper csma;
  csma.SetChannelAttribute ("DataRate", StringValue ("100Mbps"));
  csma.SetChannelAttribute ("Delay", TimeValue (MicroSeconds (50)));
  NetDeviceContainer devs = csma.Install (nodes);
  LibosStackHelper stack;
  stack.Install (NodeContainer (nodes.Get (0), nodes.Get (1), nodes.Get (2)));
  InternetStackHelper internet;
  internet.Install (nodes.Get (3));
  std::vector<Address> a;
  Address any;
  double t0 = 0; // after DAD for IPv6
  if (ipv6)
    {
      for (Ipv6Address x :
           stack.AssignAddresses6 (devs, Ipv6Address ("2001:db8:5::"), Ipv6Prefix (64)))
        {
          a.push_back (Inet6SocketAddress (x, 0));
        }
      any = Inet6SocketAddress (Ipv6Address::GetAny (), 9);
      t0 = 2.5;
    }
  else
    {
      for (Ipv4Address x :
           stack.AssignAddresses (devs, Ipv4Address ("192.168.1.0"), Ipv4Mask ("255.255.255.0")))
        {
          a.push_back (InetSocketAddress (x, 0));
        }
      any = InetSocketAddress (Ipv4Address::GetAny (), 9);
    }
  auto at = [&] (uint32_t i, uint16_t port) -> Address {
    if (ipv6)
      {
        return Inet6SocketAddress (Inet6SocketAddress::ConvertFrom (a[i]).GetIpv6 (), port);
      }
    return InetSocketAddress (InetSocketAddress::ConvertFrom (a[i]).GetIpv4 (), port);
  };

  BulkSendHelper src ("ns3::LibosTcpSocketFactory", at (2, 9));
  src.SetAttribute ("MaxBytes", UintegerValue (bytes));
  src.Install (nodes.Get (0)).Start (Seconds (t0 + 0.1));
  PacketSinkHelper sink ("ns3::LibosTcpSocketFactory", any);
  ApplicationContainer ka = sink.Install (nodes.Get (2));

  UdpEchoServerHelper server (7);
  server.Install (nodes.Get (3));
  UdpEchoClientHelper client (at (3, 7));
  client.SetAttribute ("MaxPackets", UintegerValue (3));
  client.SetAttribute ("Interval", TimeValue (Seconds (0.5)));
  ApplicationContainer c = client.Install (nodes.Get (1));
  c.Start (Seconds (t0 + 0.2));
  c.Get (0)->TraceConnectWithoutContext ("Rx", MakeCallback (&EchoRx));
  if (!pcap.empty ())
    {
      csma.EnablePcapAll (pcap);
    }

  Simulator::Stop (Seconds (t0 + 3));
  Simulator::Run ();
  std::string neigh;
  nodes.Get (1)->GetObject<LibosKernel> ()->RunIp ("neigh show", neigh);
  std::cout << "n1 neighbours:\n" << neigh;
  std::cout << "tcp_rx_bytes=" << DynamicCast<PacketSink> (ka.Get (0))->GetTotalRx ()
            << " expected=" << bytes << " echo_replies=" << g_echo << std::endl;
  Simulator::Destroy ();
  return 0;
}
