/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
/*
 * ns3::LibosStackHelper: puts a libos kernel on nodes (instead of InternetStackHelper),
 * assigns IPv4 addresses, configures sysctls and iproute2 commands the DCE way, and
 * computes shortest-path static routes over the ns-3 topology.
 */
#ifndef LIBOS_STACK_HELPER_H
#define LIBOS_STACK_HELPER_H

#include "ns3/ipv4-address.h"
#include "ns3/ipv6-address.h"
#include "ns3/net-device-container.h"
#include "ns3/node-container.h"
#include "ns3/nstime.h"

#include <string>
#include <vector>

namespace ns3
{

class LibosStackHelper
{
public:
  LibosStackHelper ();

  /**
   * Aggregates a LibosKernel and the Libos{Tcp,Udp,Raw}SocketFactory to each node and
   * attaches the node's NetDevices (install after creating the devices). A node that
   * already has libos is an NS_FATAL_ERROR.
   */
  void Install (NodeContainer nodes) const;
  void Install (Ptr<Node> node) const;

  /** sysctl with DCE's dotted names (".net.ipv4.tcp_congestion_control"); unknown name
   *  or bad value is an NS_FATAL_ERROR. */
  void SysctlSet (NodeContainer nodes, std::string name, std::string value) const;
  void SysctlSet (Ptr<Node> node, std::string name, std::string value) const;
  std::string SysctlGet (Ptr<Node> node, std::string name) const;

  /** Runs an iproute2 command line ("route add 10.0.2.0/24 via 10.0.1.2") on the node at
   *  simulation time `at`; an error is an NS_FATAL_ERROR with iproute2's message. */
  void RunIp (Ptr<Node> node, Time at, std::string cmd) const;

  /**
   * Assigns consecutive addresses of network/mask to the devices (like
   * Ipv4AddressHelper::Assign): via the kernel on libos nodes, via the Ipv4 object on
   * nodes running ns-3's own InternetStack. Returns the addresses in device order.
   * Successive calls continue at the next network (base incremented by the subnet size).
   */
  std::vector<Ipv4Address> AssignAddresses (NetDeviceContainer devices, Ipv4Address network,
                                            Ipv4Mask mask);

  /**
   * The IPv6 analogue (like Ipv6AddressHelper::Assign with a network and prefix):
   * network::1, ::2, ... in device order; via the kernel on libos nodes (the link-local
   * address is automatic; on CSMA devices the address is tentative while DAD runs, about
   * 1-2 s, as on Linux; point-to-point devices skip DAD), via the Ipv6 object on nodes
   * running ns-3's own InternetStack. Returns the addresses in device order.
   */
  std::vector<Ipv6Address> AssignAddresses6 (NetDeviceContainer devices, Ipv6Address network,
                                             Ipv6Prefix prefix);

  /** Static shortest-path (hop count, BFS over channels) routes to every subnet assigned
   *  with AssignAddresses, installed on every libos node with route_add. */
  static void PopulateRoutingTables (void);

private:
  /* Sets up the one-time check that no application uses a Libos factory on a node
   * without libos (runs at time 0, before any application starts). */
  static void CheckFactoriesOnce (void);
  static void CheckFactories (void);
};

} // namespace ns3

#endif /* LIBOS_STACK_HELPER_H */
