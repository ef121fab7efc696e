/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
/*
 * An Ethernet LAN (CsmaNetDevice, so ARP runs inside libos): three libos nodes and one
 * node with ns-3's own stack.
 *   TCP  libos n0 BulkSend -> libos n2 PacketSink
 *   UDP  libos n1 UdpEchoClient -> ns-3 n3 UdpEchoServer (ARP between libos and ns-3)
 *   examples/ns3/run.sh csma-lan [--bytes=2000000 --pcap=prefix]
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
  std::vector<Ipv4Address> a =
      stack.AssignAddresses (devs, Ipv4Address ("192.168.1.0"), Ipv4Mask ("255.255.255.0"));

  BulkSendHelper src ("ns3::LibosTcpSocketFactory", InetSocketAddress (a[2], 9));
  src.SetAttribute ("MaxBytes", UintegerValue (bytes));
  src.Install (nodes.Get (0)).Start (Seconds (0.1));
  PacketSinkHelper sink ("ns3::LibosTcpSocketFactory",
                         InetSocketAddress (Ipv4Address::GetAny (), 9));
  ApplicationContainer ka = sink.Install (nodes.Get (2));

  UdpEchoServerHelper server (7);
  server.Install (nodes.Get (3));
  UdpEchoClientHelper client (a[3], 7);
  client.SetAttribute ("MaxPackets", UintegerValue (3));
  client.SetAttribute ("Interval", TimeValue (Seconds (0.5)));
  ApplicationContainer c = client.Install (nodes.Get (1));
  c.Start (Seconds (0.2));
  c.Get (0)->TraceConnectWithoutContext ("Rx", MakeCallback (&EchoRx));
  if (!pcap.empty ())
    {
      csma.EnablePcapAll (pcap);
    }

  Simulator::Stop (Seconds (3));
  Simulator::Run ();
  std::string neigh;
  nodes.Get (1)->GetObject<LibosKernel> ()->RunIp ("neigh show", neigh);
  std::cout << "n1 neighbours:\n" << neigh;
  std::cout << "tcp_rx_bytes=" << DynamicCast<PacketSink> (ka.Get (0))->GetTotalRx ()
            << " expected=" << bytes << " echo_replies=" << g_echo << std::endl;
  Simulator::Destroy ();
  return 0;
}
