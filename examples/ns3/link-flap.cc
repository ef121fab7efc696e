/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
/*
 * Link down and up: two libos nodes on a SimpleChannel whose device on n0 can lose its
 * link (ns-3's stock devices never report a link going down, so this one does it by
 * hand through the NetDevice link-change callbacks LibosKernel listens to). n0 sends a
 * UDP echo every 100 ms for 3 s; the link is down in [1 s, 2 s).
 *   examples/ns3/run.sh link-flap
 * Prints: echo replies before, during and after, and `ip link show eth0` while down.
 */
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/libos-module.h"
#include "ns3/network-module.h"

#include <iostream>

using namespace ns3;

/* A SimpleNetDevice whose link state can be switched, with the callbacks fired. */
class FlapDevice : public SimpleNetDevice
{
public:
  static TypeId
  GetTypeId (void)
  {
    static TypeId tid = TypeId ("FlapDevice")
                            .SetParent<SimpleNetDevice> ()
                            .AddConstructor<FlapDevice> ();
    return tid;
  }
  bool
  IsLinkUp (void) const override
  {
    return m_up;
  }
  void
  AddLinkChangeCallback (Callback<void> callback) override
  {
    m_callbacks.push_back (callback);
  }
  bool
  Send (Ptr<Packet> packet, const Address &dest, uint16_t protocol) override
  {
    return m_up && SimpleNetDevice::Send (packet, dest, protocol);
  }
  void
  SetLink (bool up)
  {
    m_up = up;
    for (auto &cb : m_callbacks)
      {
        cb ();
      }
  }

private:
  bool m_up = true;
  std::vector<Callback<void>> m_callbacks;
};

static uint32_t g_replies[3] = {0, 0, 0};

static void
EchoRx (Ptr<const Packet> p)
{
  double t = Simulator::Now ().GetSeconds ();
  g_replies[t < 1.0 ? 0 : (t < 2.0 ? 1 : 2)]++;
}

static std::string g_down;

static void
ShowLink (Ptr<Node> n)
{
  n->GetObject<LibosKernel> ()->RunIp ("link show eth0", g_down);
}

int
main (int argc, char *argv[])
{
  CommandLine cmd (__FILE__);
  cmd.Parse (argc, argv);

  NodeContainer nodes;
  nodes.Create (2);
  Ptr<SimpleChannel> ch = CreateObject<SimpleChannel> ();
  NetDeviceContainer devs;
  Ptr<FlapDevice> flap;
  for (uint32_t i = 0; i < 2; i++)
    {
      Ptr<FlapDevice> d = CreateObject<FlapDevice> ();
      d->SetAddress (Mac48Address::Allocate ());
      d->SetChannel (ch);
      nodes.Get (i)->AddDevice (d);
      devs.Add (d);
      if (i == 0)
        {
          flap = d;
        }
    }
  LibosStackHelper stack;
  stack.Install (nodes);
  std::vector<Ipv4Address> a =
      stack.AssignAddresses (devs, Ipv4Address ("10.0.0.0"), Ipv4Mask ("255.255.255.0"));

  UdpEchoServerHelper server (7);
  server.Install (nodes.Get (1));
  UdpEchoClientHelper client (a[1], 7);
  client.SetAttribute ("MaxPackets", UintegerValue (30));
  client.SetAttribute ("Interval", TimeValue (MilliSeconds (100)));
  client.SetAttribute ("PacketSize", UintegerValue (64));
  ApplicationContainer c = client.Install (nodes.Get (0));
  c.Start (MilliSeconds (5));
  c.Get (0)->TraceConnectWithoutContext ("Rx", MakeCallback (&EchoRx));

  Simulator::Schedule (Seconds (1.0), &FlapDevice::SetLink, flap, false);
  Simulator::Schedule (Seconds (1.5), &ShowLink, nodes.Get (0));
  Simulator::Schedule (Seconds (2.0), &FlapDevice::SetLink, flap, true);
  Simulator::Stop (Seconds (3.2));
  Simulator::Run ();
  Simulator::Destroy ();
  std::cout << "link while down: " << g_down;
  std::cout << "replies_before=" << g_replies[0] << " replies_down=" << g_replies[1]
            << " replies_after=" << g_replies[2] << std::endl;
  return 0;
}
