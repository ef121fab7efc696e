/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
/*
 * Dumbbell: N libos senders -> router L -> bottleneck -> router R -> N libos receivers,
 * routes from LibosStackHelper::PopulateRoutingTables, random loss on the bottleneck
 * from a RateErrorModel. BulkSend -> PacketSink per flow.
 *   examples/ns3/run.sh dumbbell [--flows=4 --bottleneck=10Mbps --errorRate=0.001
 *                                 --simTime=10 --cc=cubic]
 * Prints per-flow bytes, total goodput, Jain's fairness index and the drops.
 */
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/libos-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <iostream>
#include <sstream>

using namespace ns3;

static uint32_t g_drops = 0;

static void
Drop (Ptr<const Packet> p)
{
  g_drops++;
}

int
main (int argc, char *argv[])
{
  uint32_t flows = 4;
  std::string bottleneck = "10Mbps";
  double errorRate = 0.001;
  double simTime = 10.0;
  std::string cc = "";
  CommandLine cmd (__FILE__);
  cmd.AddValue ("flows", "number of flows", flows);
  cmd.AddValue ("bottleneck", "bottleneck rate", bottleneck);
  cmd.AddValue ("errorRate", "packet error rate on the bottleneck (RateErrorModel)", errorRate);
  cmd.AddValue ("simTime", "simulated seconds", simTime);
  cmd.AddValue ("cc", "net.ipv4.tcp_congestion_control", cc);
  cmd.Parse (argc, argv);

  NodeContainer left, right, routers;
  left.Create (flows);
  right.Create (flows);
  routers.Create (2);
  PointToPointHelper access;
  access.SetDeviceAttribute ("DataRate", StringValue ("100Mbps"));
  access.SetChannelAttribute ("Delay", StringValue ("1ms"));
  PointToPointHelper neck;
  neck.SetDeviceAttribute ("DataRate", StringValue (bottleneck));
  neck.SetChannelAttribute ("Delay", StringValue ("10ms"));

  NetDeviceContainer core = neck.Install (routers);
  std::vector<NetDeviceContainer> l, r;
  for (uint32_t i = 0; i < flows; ++i)
    {
      l.push_back (access.Install (left.Get (i), routers.Get (0)));
      r.push_back (access.Install (right.Get (i), routers.Get (1)));
    }
  Ptr<RateErrorModel> em = CreateObject<RateErrorModel> ();
  em->SetAttribute ("ErrorRate", DoubleValue (errorRate));
  em->SetAttribute ("ErrorUnit", StringValue ("ERROR_UNIT_PACKET"));
  core.Get (1)->SetAttribute ("ReceiveErrorModel", PointerValue (em));
  core.Get (1)->TraceConnectWithoutContext ("PhyRxDrop", MakeCallback (&Drop));

  LibosStackHelper stack;
  stack.Install (left);
  stack.Install (right);
  stack.Install (routers);
  if (!cc.empty ())
    {
      stack.SysctlSet (left, ".net.ipv4.tcp_congestion_control", cc);
    }
  stack.AssignAddresses (core, Ipv4Address ("10.255.0.0"), Ipv4Mask ("255.255.255.0"));
  std::vector<Ipv4Address> dst;
  for (uint32_t i = 0; i < flows; ++i)
    {
      std::ostringstream a, b;
      a << "10.1." << i << ".0";
      b << "10.2." << i << ".0";
      stack.AssignAddresses (l[i], Ipv4Address (a.str ().c_str ()), Ipv4Mask ("255.255.255.0"));
      dst.push_back (stack.AssignAddresses (r[i], Ipv4Address (b.str ().c_str ()),
                                            Ipv4Mask ("255.255.255.0"))[0]);
    }
  LibosStackHelper::PopulateRoutingTables ();

  std::vector<Ptr<PacketSink> > sinks;
  for (uint32_t i = 0; i < flows; ++i)
    {
      BulkSendHelper src ("ns3::LibosTcpSocketFactory", InetSocketAddress (dst[i], 9));
      ApplicationContainer sa = src.Install (left.Get (i));
      sa.Start (Seconds (0.1 + 0.01 * i));
      PacketSinkHelper sink ("ns3::LibosTcpSocketFactory",
                             InetSocketAddress (Ipv4Address::GetAny (), 9));
      ApplicationContainer ka = sink.Install (right.Get (i));
      sinks.push_back (DynamicCast<PacketSink> (ka.Get (0)));
    }

  Simulator::Stop (Seconds (simTime));
  Simulator::Run ();
  double sum = 0, sumSq = 0;
  uint64_t total = 0;
  for (uint32_t i = 0; i < flows; ++i)
    {
      uint64_t rx = sinks[i]->GetTotalRx ();
      double g = rx * 8.0 / simTime / 1e6;
      std::cout << "flow " << i << " rx_bytes=" << rx << " goodput_mbps=" << g << std::endl;
      sum += g;
      sumSq += g * g;
      total += rx;
    }
  std::cout << "flows=" << flows << " total_rx_bytes=" << total << " total_goodput_mbps=" << sum
            << " jain=" << (sumSq > 0 ? sum * sum / (flows * sumSq) : 0)
            << " bottleneck_drops=" << g_drops << " events=" << Simulator::GetEventCount ()
            << std::endl;
  Simulator::Destroy ();
  return 0;
}
