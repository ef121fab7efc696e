/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
#include "libos-stack-helper.h"

#include "libos-kernel.h"
#include "libos-socket.h"

#include "libos-ns3/rust/ns3/bridge.rs.h"

#include "ns3/application.h"
#include "ns3/boolean.h"
#include "ns3/global-value.h"
#include "ns3/channel.h"
#include "ns3/ipv4.h"
#include "ns3/ipv6.h"
#include "ns3/log.h"
#include "ns3/node-list.h"
#include "ns3/simulator.h"
#include "ns3/type-id.h"

#include <deque>
#include <map>
#include <set>
#include <sstream>

NS_LOG_COMPONENT_DEFINE ("LibosStackHelper");

namespace ns3
{

namespace
{
struct Assigned
{
  Ptr<NetDevice> dev;
  Ipv4Address addr;
  Ipv4Mask mask;
};

struct Assigned6
{
  Ptr<NetDevice> dev;
  Ipv6Address addr;
  Ipv6Prefix prefix;
};

/* Every address AssignAddresses and AssignAddresses6 gave, for PopulateRoutingTables. */
std::vector<Assigned> &
Registry (void)
{
  static std::vector<Assigned> r;
  return r;
}

std::vector<Assigned6> &
Registry6 (void)
{
  static std::vector<Assigned6> r;
  return r;
}

/* The device a node leaves by toward every node it reaches, and the neighbour's device on
   that first link: BFS over channels from `src`, only through neighbours with addresses. */
std::map<uint32_t, std::pair<Ptr<NetDevice>, Ptr<NetDevice> > >
FirstHops (Ptr<Node> src, Ptr<LibosKernel> k, const std::set<Ptr<NetDevice> > &addressed)
{
  std::map<uint32_t, std::pair<Ptr<NetDevice>, Ptr<NetDevice> > > firstHop;
  std::deque<Ptr<Node> > queue;
  std::set<uint32_t> seen;
  seen.insert (src->GetId ());
  for (uint32_t d = 0; d < src->GetNDevices (); ++d)
    {
      Ptr<NetDevice> dev = src->GetDevice (d);
      Ptr<Channel> ch = dev->GetChannel ();
      if (ch == nullptr || k->GetIfIndex (dev) == 0)
        {
          continue;
        }
      for (std::size_t j = 0; j < ch->GetNDevices (); ++j)
        {
          Ptr<NetDevice> peer = ch->GetDevice (j);
          Ptr<Node> m = peer->GetNode ();
          if (peer == dev || seen.count (m->GetId ()) || !addressed.count (peer))
            {
              continue;
            }
          seen.insert (m->GetId ());
          firstHop[m->GetId ()] = std::make_pair (dev, peer);
          queue.push_back (m);
        }
    }
  while (!queue.empty ())
    {
      Ptr<Node> cur = queue.front ();
      queue.pop_front ();
      for (uint32_t d = 0; d < cur->GetNDevices (); ++d)
        {
          Ptr<Channel> ch = cur->GetDevice (d)->GetChannel ();
          if (ch == nullptr)
            {
              continue;
            }
          for (std::size_t j = 0; j < ch->GetNDevices (); ++j)
            {
              Ptr<Node> m = ch->GetDevice (j)->GetNode ();
              if (seen.insert (m->GetId ()).second)
                {
                  firstHop[m->GetId ()] = firstHop[cur->GetId ()];
                  queue.push_back (m);
                }
            }
        }
    }
  return firstHop;
}

Ptr<LibosKernel>
Kernel (Ptr<Node> node, const char *what)
{
  Ptr<LibosKernel> k = node->GetObject<LibosKernel> ();
  if (k == nullptr)
    {
      NS_FATAL_ERROR ("LibosStackHelper::" << what << ": node " << node->GetId ()
                                           << " has no libos stack (call Install first)");
    }
  return k;
}

void
DoRunIp (Ptr<Node> node, std::string cmd)
{
  Ptr<LibosKernel> k = Kernel (node, "RunIp");
  std::string out;
  if (k->RunIp (cmd, out) != 0)
    {
      NS_FATAL_ERROR ("LibosStackHelper::RunIp: node " << node->GetId () << ": \"ip " << cmd
                                                       << "\" failed: " << out);
    }
  NS_LOG_INFO ("node " << node->GetId () << " ip " << cmd << (out.empty () ? "" : "\n") << out);
}
} // namespace

LibosStackHelper::LibosStackHelper ()
{
  // libos, like Linux, drops segments with bad checksums; ns-3's own stack fills them only
  // when ChecksumEnabled is set (DCE set it too).
  GlobalValue::Bind ("ChecksumEnabled", BooleanValue (true));
}

void
LibosStackHelper::Install (NodeContainer nodes) const
{
  for (NodeContainer::Iterator i = nodes.Begin (); i != nodes.End (); ++i)
    {
      Install (*i);
    }
}

void
LibosStackHelper::Install (Ptr<Node> node) const
{
  if (node->GetObject<LibosKernel> () != nullptr)
    {
      NS_FATAL_ERROR ("LibosStackHelper::Install: node " << node->GetId ()
                                                         << " already has a libos stack");
    }
  if (node->GetObject<Ipv4> () != nullptr)
    {
      NS_FATAL_ERROR ("LibosStackHelper::Install: node "
                      << node->GetId () << " already runs ns-3's InternetStack; a node gets one stack");
    }
  Ptr<LibosKernel> k = CreateObject<LibosKernel> ();
  node->AggregateObject (k);
  k->SetNode (node);
  node->AggregateObject (CreateObject<LibosTcpSocketFactory> ());
  node->AggregateObject (CreateObject<LibosUdpSocketFactory> ());
  node->AggregateObject (CreateObject<LibosRawSocketFactory> ());
  CheckFactoriesOnce ();
}

void
LibosStackHelper::SysctlSet (NodeContainer nodes, std::string name, std::string value) const
{
  for (NodeContainer::Iterator i = nodes.Begin (); i != nodes.End (); ++i)
    {
      SysctlSet (*i, name, value);
    }
}

void
LibosStackHelper::SysctlSet (Ptr<Node> node, std::string name, std::string value) const
{
  int r = Kernel (node, "SysctlSet")->SysctlSet (name, value);
  if (r != 0)
    {
      NS_FATAL_ERROR ("LibosStackHelper::SysctlSet: node "
                      << node->GetId () << ": " << name << " = \"" << value << "\": "
                      << (r == -2 ? "unknown sysctl or value" : "invalid value") << " (errno " << -r
                      << ")");
    }
}

std::string
LibosStackHelper::SysctlGet (Ptr<Node> node, std::string name) const
{
  std::string v;
  int r = Kernel (node, "SysctlGet")->SysctlGet (name, v);
  if (r != 0)
    {
      NS_FATAL_ERROR ("LibosStackHelper::SysctlGet: node " << node->GetId () << ": " << name
                                                           << ": no such sysctl (errno " << -r
                                                           << ")");
    }
  return v;
}

void
LibosStackHelper::RunIp (Ptr<Node> node, Time at, std::string cmd) const
{
  Kernel (node, "RunIp");
  Simulator::ScheduleWithContext (node->GetId (), at, &DoRunIp, node, cmd);
}

std::vector<Ipv4Address>
LibosStackHelper::AssignAddresses (NetDeviceContainer devices, Ipv4Address network,
                                   Ipv4Mask mask)
{
  std::vector<Ipv4Address> out;
  uint32_t base = network.Get () & mask.Get ();
  for (uint32_t i = 0; i < devices.GetN (); ++i)
    {
      Ptr<NetDevice> dev = devices.Get (i);
      Ptr<Node> node = dev->GetNode ();
      Ipv4Address addr (base + i + 1);
      Ptr<LibosKernel> k = node->GetObject<LibosKernel> ();
      if (k != nullptr)
        {
          k->SyncDevices ();
          int r = k->Handle ().addr_add (k->Now (), k->GetIfIndex (dev), addr.Get (),
                                         mask.GetPrefixLength ());
          k->Service ();
          if (r != 0)
            {
              NS_FATAL_ERROR ("LibosStackHelper::AssignAddresses: node "
                              << node->GetId () << " " << addr << ": errno " << -r);
            }
        }
      else
        {
          Ptr<Ipv4> ipv4 = node->GetObject<Ipv4> ();
          if (ipv4 == nullptr)
            {
              NS_FATAL_ERROR ("LibosStackHelper::AssignAddresses: node "
                              << node->GetId () << " has neither libos nor ns-3's InternetStack");
            }
          int32_t iface = ipv4->GetInterfaceForDevice (dev);
          if (iface < 0)
            {
              iface = ipv4->AddInterface (dev);
            }
          ipv4->AddAddress (iface, Ipv4InterfaceAddress (addr, mask));
          ipv4->SetMetric (iface, 1);
          ipv4->SetUp (iface);
        }
      Registry ().push_back (Assigned{dev, addr, mask});
      out.push_back (addr);
    }
  return out;
}

std::vector<Ipv6Address>
LibosStackHelper::AssignAddresses6 (NetDeviceContainer devices, Ipv6Address network,
                                    Ipv6Prefix prefix)
{
  std::vector<Ipv6Address> out;
  uint8_t base[16];
  network.CombinePrefix (prefix).GetBytes (base);
  for (uint32_t i = 0; i < devices.GetN (); ++i)
    {
      Ptr<NetDevice> dev = devices.Get (i);
      Ptr<Node> node = dev->GetNode ();
      uint8_t b[16];
      std::copy (base, base + 16, b);
      uint32_t host = i + 1; // network::1, ::2, ... (the low 32 bits)
      for (int j = 15; j >= 12; --j, host >>= 8)
        {
          b[j] |= host & 0xff;
        }
      Ipv6Address addr (b);
      Ptr<LibosKernel> k = node->GetObject<LibosKernel> ();
      if (k != nullptr)
        {
          k->SyncDevices ();
          int r = k->Handle ().addr6_add (k->Now (), k->GetIfIndex (dev),
                                          rust::Slice<const uint8_t> (b, 16),
                                          prefix.GetPrefixLength ());
          k->Service ();
          if (r != 0)
            {
              NS_FATAL_ERROR ("LibosStackHelper::AssignAddresses6: node "
                              << node->GetId () << " " << addr << ": errno " << -r);
            }
        }
      else
        {
          Ptr<Ipv6> ipv6 = node->GetObject<Ipv6> ();
          if (ipv6 == nullptr)
            {
              NS_FATAL_ERROR ("LibosStackHelper::AssignAddresses6: node "
                              << node->GetId () << " has neither libos nor ns-3's InternetStack");
            }
          int32_t iface = ipv6->GetInterfaceForDevice (dev);
          if (iface < 0)
            {
              iface = ipv6->AddInterface (dev);
            }
          ipv6->AddAddress (iface, Ipv6InterfaceAddress (addr, prefix));
          ipv6->SetMetric (iface, 1);
          ipv6->SetUp (iface);
        }
      Registry6 ().push_back (Assigned6{dev, addr, prefix});
      out.push_back (addr);
    }
  return out;
}

void
LibosStackHelper::PopulateRoutingTables (void)
{
  const std::vector<Assigned> &reg = Registry ();
  const std::vector<Assigned6> &reg6 = Registry6 ();
  std::map<Ptr<NetDevice>, Ipv4Address> addrOf;
  std::map<Ptr<NetDevice>, Ipv6Address> addrOf6;
  std::set<Ptr<NetDevice> > addressed;
  for (const Assigned &a : reg)
    {
      addrOf[a.dev] = a.addr;
      addressed.insert (a.dev);
    }
  for (const Assigned6 &a : reg6)
    {
      addrOf6.insert (std::make_pair (a.dev, a.addr));
      addressed.insert (a.dev);
    }
  for (uint32_t n = 0; n < NodeList::GetNNodes (); ++n)
    {
      Ptr<Node> src = NodeList::GetNode (n);
      Ptr<LibosKernel> k = src->GetObject<LibosKernel> ();
      if (k == nullptr)
        {
          continue;
        }
      k->SyncDevices ();
      std::map<uint32_t, std::pair<Ptr<NetDevice>, Ptr<NetDevice> > > firstHop =
          FirstHops (src, k, addressed);
      // IPv4: one route per subnet not on this node, via the first hop's address there.
      std::set<std::pair<uint32_t, uint16_t> > done;
      for (const Assigned &a : reg)
        {
          if (a.dev->GetNode () == src)
            {
              done.insert (std::make_pair (a.addr.CombineMask (a.mask).Get (),
                                           a.mask.GetPrefixLength ()));
            }
        }
      for (const Assigned &a : reg)
        {
          uint32_t owner = a.dev->GetNode ()->GetId ();
          std::pair<uint32_t, uint16_t> net (a.addr.CombineMask (a.mask).Get (),
                                             a.mask.GetPrefixLength ());
          if (owner == src->GetId () || done.count (net) || !firstHop.count (owner) ||
              !addrOf.count (firstHop[owner].second))
            {
              continue;
            }
          done.insert (net);
          Ptr<NetDevice> out = firstHop[owner].first;
          Ipv4Address gw = addrOf[firstHop[owner].second];
          int r = k->Handle ().route_add (net.first, net.second, gw.Get (), k->GetIfIndex (out));
          NS_LOG_INFO ("node " << src->GetId () << " route " << Ipv4Address (net.first) << "/"
                               << net.second << " via " << gw << " dev " << k->GetIfName (out)
                               << " -> " << r);
        }
      // IPv6: the same through the built-in "ip -6 route add".
      std::set<std::pair<Ipv6Address, uint8_t> > done6;
      bool has6 = false;
      for (const Assigned6 &a : reg6)
        {
          if (a.dev->GetNode () == src)
            {
              has6 = true;
              done6.insert (std::make_pair (a.addr.CombinePrefix (a.prefix),
                                            a.prefix.GetPrefixLength ()));
            }
        }
      for (const Assigned6 &a : reg6)
        {
          uint32_t owner = a.dev->GetNode ()->GetId ();
          std::pair<Ipv6Address, uint8_t> net (a.addr.CombinePrefix (a.prefix),
                                               a.prefix.GetPrefixLength ());
          if (owner == src->GetId () || done6.count (net) || !firstHop.count (owner) ||
              !addrOf6.count (firstHop[owner].second))
            {
              continue;
            }
          done6.insert (net);
          Ptr<NetDevice> out = firstHop[owner].first;
          std::ostringstream cmd;
          cmd << "-6 route add " << net.first << "/" << unsigned (net.second) << " via "
              << addrOf6[firstHop[owner].second] << " dev " << k->GetIfName (out);
          std::string text;
          int r = k->RunIp (cmd.str (), text);
          NS_LOG_INFO ("node " << src->GetId () << " ip " << cmd.str () << " -> " << r << " "
                               << text);
        }
      if (src->GetNDevices () > 1)
        {
          k->SysctlSet ("net.ipv4.ip_forward", "1");
          if (has6)
            {
              k->SysctlSet ("net.ipv6.conf.all.forwarding", "1");
            }
        }
      k->Service ();
    }
}

void
LibosStackHelper::CheckFactoriesOnce (void)
{
  static bool scheduled = false;
  if (!scheduled)
    {
      scheduled = true;
      Simulator::Schedule (Seconds (0), &LibosStackHelper::CheckFactories);
    }
}

void
LibosStackHelper::CheckFactories (void)
{
  for (uint32_t n = 0; n < NodeList::GetNNodes (); ++n)
    {
      Ptr<Node> node = NodeList::GetNode (n);
      for (uint32_t a = 0; a < node->GetNApplications (); ++a)
        {
          Ptr<Application> app = node->GetApplication (a);
          TypeId::AttributeInformation info;
          if (!app->GetInstanceTypeId ().LookupAttributeByName ("Protocol", &info))
            {
              continue;
            }
          TypeIdValue v;
          app->GetAttribute ("Protocol", v);
          std::string name = v.Get ().GetName ();
          if (name.rfind ("ns3::Libos", 0) == 0 && node->GetObject<LibosKernel> () == nullptr)
            {
              NS_FATAL_ERROR (name << " used by " << app->GetInstanceTypeId ().GetName ()
                                   << " on node " << node->GetId ()
                                   << " which has no libos stack: call "
                                      "LibosStackHelper::Install on it first");
            }
        }
    }
}

} // namespace ns3
