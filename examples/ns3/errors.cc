/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
/*
 * Misuse of the plugin, one case per run; each must end in a clear NS_FATAL_ERROR:
 *   examples/ns3/run.sh errors --case=install-twice|unknown-sysctl|bad-sysctl-value|
 *                                    bad-ip|no-libos-factory|ok
 */
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/libos-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <iostream>

using namespace ns3;

int
main (int argc, char *argv[])
{
  std::string which = "ok";
  CommandLine cmd (__FILE__);
  cmd.AddValue ("case", "which misuse to commit", which);
  cmd.Parse (argc, argv);

  NodeContainer nodes;
  nodes.Create (3);
  PointToPointHelper p2p;
  NetDeviceContainer devs = p2p.Install (nodes.Get (0), nodes.Get (1));
  LibosStackHelper stack;
  stack.Install (NodeContainer (nodes.Get (0), nodes.Get (1)));
  stack.AssignAddresses (devs, Ipv4Address ("10.0.0.0"), Ipv4Mask ("255.255.255.0"));

  if (which == "install-twice")
    {
      stack.Install (nodes.Get (0));
    }
  else if (which == "unknown-sysctl")
    {
      stack.SysctlSet (nodes.Get (0), ".net.ipv4.no_such_sysctl", "1");
    }
  else if (which == "bad-sysctl-value")
    {
      stack.SysctlSet (nodes.Get (0), ".net.ipv4.tcp_congestion_control", "no-such-cc");
    }
  else if (which == "bad-ip")
    {
      stack.RunIp (nodes.Get (0), Seconds (0.5), "route add 10.9.0.0/99 via banana");
    }
  else if (which == "no-libos-factory")
    {
      // node 2 has no libos (and no ns-3 stack either)
      PacketSinkHelper sink ("ns3::LibosTcpSocketFactory",
                             InetSocketAddress (Ipv4Address::GetAny (), 9));
      sink.Install (nodes.Get (2)).Start (Seconds (1));
    }
  else if (which != "ok")
    {
      NS_FATAL_ERROR ("unknown --case=" << which);
    }
  Simulator::Stop (Seconds (2));
  Simulator::Run ();
  Simulator::Destroy ();
  std::cout << "case=" << which << " completed" << std::endl;
  return 0;
}
