/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
/*
 * Benchmark: N point-to-point pairs, one BulkSend -> PacketSink flow each (the scenario of
 * the ns-3 baseline: 50 flows at 10 Mbit/s for 10 simulated s), under ns-3's own
 * InternetStackHelper (--stack=ns3) or libos (--stack=libos). Prints one line:
 *   stack=... flows=... rx_bytes=... goodput_mbps=... events=... wall_s=... maxrss_kb=...
 * bench/ns3/run.sh runs both in separate processes and prints the table.
 */
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/libos-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <chrono>
#include <iostream>
#include <sstream>
#include <sys/resource.h>

using namespace ns3;

int
main (int argc, char *argv[])
{
  std::string stackName = "libos";
  uint32_t flows = 50;
  std::string rate = "10Mbps";
  double simTime = 10.0;
  CommandLine cmd (__FILE__);
  cmd.AddValue ("stack", "ns3 or libos", stackName);
  cmd.AddValue ("flows", "flows (pairs of nodes)", flows);
  cmd.AddValue ("rate", "link rate", rate);
  cmd.AddValue ("simTime", "simulated seconds", simTime);
  cmd.Parse (argc, argv);
  bool libos = stackName == "libos";
  if (!libos && stackName != "ns3")
    {
      NS_FATAL_ERROR ("--stack must be ns3 or libos");
    }
  auto t0 = std::chrono::steady_clock::now ();
  const char *factory = libos ? "ns3::LibosTcpSocketFactory" : "ns3::TcpSocketFactory";
  PointToPointHelper p2p;
  p2p.SetDeviceAttribute ("DataRate", StringValue (rate));
  p2p.SetChannelAttribute ("Delay", StringValue ("5ms"));
  InternetStackHelper internet;
  Ipv4AddressHelper addr;
  LibosStackHelper stack;
  std::vector<Ptr<PacketSink> > sinks;
  for (uint32_t i = 0; i < flows; ++i)
    {
      NodeContainer nodes;
      nodes.Create (2);
      NetDeviceContainer devs = p2p.Install (nodes);
      std::ostringstream net;
      net << "10." << (i / 256) << "." << (i % 256) << ".0";
      Ipv4Address peer;
      if (libos)
        {
          stack.Install (nodes);
          peer = stack.AssignAddresses (devs, Ipv4Address (net.str ().c_str ()),
                                        Ipv4Mask ("255.255.255.0"))[1];
        }
      else
        {
          internet.Install (nodes);
          addr.SetBase (net.str ().c_str (), "255.255.255.0");
          peer = addr.Assign (devs).GetAddress (1);
        }
      BulkSendHelper src (factory, InetSocketAddress (peer, 9));
      ApplicationContainer sa = src.Install (nodes.Get (0));
      sa.Start (Seconds (0));
      PacketSinkHelper sink (factory, InetSocketAddress (Ipv4Address::GetAny (), 9));
      ApplicationContainer ka = sink.Install (nodes.Get (1));
      sinks.push_back (DynamicCast<PacketSink> (ka.Get (0)));
    }
  Simulator::Stop (Seconds (simTime));
  Simulator::Run ();
  uint64_t total = 0;
  for (Ptr<PacketSink> s : sinks)
    {
      total += s->GetTotalRx ();
    }
  uint64_t events = Simulator::GetEventCount ();
  Simulator::Destroy ();
  double wall = std::chrono::duration<double> (std::chrono::steady_clock::now () - t0).count ();
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  std::cout << "stack=" << stackName << " flows=" << flows << " rx_bytes=" << total
            << " goodput_mbps=" << total * 8.0 / simTime / flows / 1e6 << " events=" << events
            << " wall_s=" << wall << " maxrss_kb=" << ru.ru_maxrss << std::endl;
  return 0;
}
