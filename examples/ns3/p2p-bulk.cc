/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
/*
 * Two libos nodes over point-to-point: BulkSend -> PacketSink over libos TCP.
 *   examples/ns3/run.sh p2p-bulk [--rate=10Mbps --delay=5ms --simTime=10 --maxBytes=0
 *                                 --pcap=prefix --cc=cubic]
 * Prints the bytes the sink received, the goodput and the last cwnd/RTT samples.
 */
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/libos-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <iostream>

using namespace ns3;

static uint32_t g_cwnd = 0;
static uint32_t g_cwndChanges = 0;
static Time g_rtt;

static void
CwndTrace (uint32_t oldValue, uint32_t newValue)
{
  g_cwnd = newValue;
  g_cwndChanges++;
}

static void
RttTrace (Time oldValue, Time newValue)
{
  g_rtt = newValue;
}

static void
HookTraces (Ptr<Application> app)
{
  Ptr<BulkSendApplication> bulk = DynamicCast<BulkSendApplication> (app);
  Ptr<Socket> s = bulk->GetSocket ();
  if (s)
    {
      s->TraceConnectWithoutContext ("CongestionWindow", MakeCallback (&CwndTrace));
      s->TraceConnectWithoutContext ("RTT", MakeCallback (&RttTrace));
    }
}

int
main (int argc, char *argv[])
{
  std::string rate = "10Mbps";
  std::string delay = "5ms";
  double simTime = 10.0;
  uint64_t maxBytes = 0;
  std::string pcap = "";
  std::string cc = "";
  CommandLine cmd (__FILE__);
  cmd.AddValue ("rate", "link rate", rate);
  cmd.AddValue ("delay", "link delay", delay);
  cmd.AddValue ("simTime", "simulated seconds", simTime);
  cmd.AddValue ("maxBytes", "bytes to send (0: unlimited)", maxBytes);
  cmd.AddValue ("pcap", "pcap file prefix (empty: none)", pcap);
  cmd.AddValue ("cc", "congestion control (net.ipv4.tcp_congestion_control)", cc);
  cmd.Parse (argc, argv);

  NodeContainer nodes;
  nodes.Create (2);
  PointToPointHelper p2p;
  p2p.SetDeviceAttribute ("DataRate", StringValue (rate));
  p2p.SetChannelAttribute ("Delay", StringValue (delay));
  NetDeviceContainer devs = p2p.Install (nodes);

  LibosStackHelper stack;
  stack.Install (nodes);
  if (!cc.empty ())
    {
      stack.SysctlSet (nodes, ".net.ipv4.tcp_congestion_control", cc);
    }
  std::vector<Ipv4Address> addrs =
      stack.AssignAddresses (devs, Ipv4Address ("10.0.0.0"), Ipv4Mask ("255.255.255.0"));

  BulkSendHelper src ("ns3::LibosTcpSocketFactory", InetSocketAddress (addrs[1], 9));
  src.SetAttribute ("MaxBytes", UintegerValue (maxBytes));
  ApplicationContainer sa = src.Install (nodes.Get (0));
  sa.Start (Seconds (0.1));
  sa.Stop (Seconds (simTime));
  Simulator::Schedule (Seconds (0.2), &HookTraces, sa.Get (0));
  PacketSinkHelper sink ("ns3::LibosTcpSocketFactory",
                         InetSocketAddress (Ipv4Address::GetAny (), 9));
  ApplicationContainer ka = sink.Install (nodes.Get (1));
  ka.Start (Seconds (0));
  ka.Stop (Seconds (simTime));
  if (!pcap.empty ())
    {
      p2p.EnablePcapAll (pcap);
    }

  Simulator::Stop (Seconds (simTime));
  Simulator::Run ();
  uint64_t rx = DynamicCast<PacketSink> (ka.Get (0))->GetTotalRx ();
  double goodput = rx * 8.0 / (simTime - 0.1) / 1e6;
  std::cout << "cc=" << stack.SysctlGet (nodes.Get (0), ".net.ipv4.tcp_congestion_control")
            << " rx_bytes=" << rx << " goodput_mbps=" << goodput << " cwnd_bytes=" << g_cwnd
            << " cwnd_changes=" << g_cwndChanges << " rtt_ms=" << g_rtt.GetMilliSeconds ()
            << " events=" << Simulator::GetEventCount () << std::endl;
  Simulator::Destroy ();
  return 0;
}
