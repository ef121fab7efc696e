/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
#include "libos-kernel.h"

#include "libos-socket.h"

#include "libos-ns3/rust/ns3/bridge.rs.h"

#include "ns3/channel.h"
#include "ns3/log.h"
#include "ns3/mac48-address.h"
#include "ns3/packet.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"

NS_LOG_COMPONENT_DEFINE ("LibosKernel");

namespace ns3
{

NS_OBJECT_ENSURE_REGISTERED (LibosKernel);

static const uint64_t NO_DEADLINE = ~uint64_t (0);
static const uint32_t IFF_BROADCAST = 0x2;
static const uint32_t IFF_POINTOPOINT = 0x10;
static const uint32_t IFF_NOARP = 0x80;
static const uint32_t IFF_MULTICAST = 0x1000;

TypeId
LibosKernel::GetTypeId (void)
{
  static TypeId tid = TypeId ("ns3::LibosKernel")
    .SetParent<Object> ()
    .SetGroupName ("Libos")
    .AddConstructor<LibosKernel> ();
  return tid;
}

LibosKernel::LibosKernel ()
  : m_handle (nullptr),
    m_timerAt (NO_DEADLINE),
    m_timerGen (0),
    m_timerPending (false),
    m_dispatchPending (false),
    m_inService (false),
    m_inDispatch (false),
    m_framesIn (0),
    m_framesOut (0)
{
  NS_LOG_FUNCTION (this);
}

LibosKernel::~LibosKernel ()
{
  NS_LOG_FUNCTION (this);
  if (m_handle != nullptr)
    {
      rust::Box<libos::KernelHandle>::from_raw (m_handle);
      m_handle = nullptr;
    }
}

/* splitmix64 finaliser: distinct, well-mixed seeds for (seed, run, node). */
static uint64_t
Mix (uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void
LibosKernel::SetNode (Ptr<Node> node)
{
  NS_LOG_FUNCTION (this << node);
  NS_ASSERT_MSG (m_node == nullptr, "LibosKernel::SetNode called twice");
  m_node = node;
  uint64_t seed = Mix (Mix (Mix (RngSeedManager::GetSeed ()) ^ RngSeedManager::GetRun ())
                       ^ node->GetId ());
  m_handle = libos::kernel_new (seed).into_raw ();
  SyncDevices ();
}

Ptr<Node>
LibosKernel::GetNode (void) const
{
  return m_node;
}

libos::KernelHandle &
LibosKernel::Handle (void)
{
  NS_ASSERT_MSG (m_handle != nullptr, "LibosKernel used before SetNode");
  return *m_handle;
}

uint64_t
LibosKernel::Now (void) const
{
  return Simulator::Now ().GetNanoSeconds ();
}

void
LibosKernel::CheckPoisoned (void) const
{
  if (m_handle != nullptr && m_handle->is_poisoned ())
    {
      NS_FATAL_ERROR ("libos kernel of node " << m_node->GetId ()
                      << " panicked (see the Rust message above); the simulation cannot go on");
    }
}

void
LibosKernel::SyncDevices (void)
{
  NS_LOG_FUNCTION (this);
  for (uint32_t i = 0; i < m_node->GetNDevices (); ++i)
    {
      Ptr<NetDevice> dev = m_node->GetDevice (i);
      if (GetIfIndex (dev) != 0 || dev->GetInstanceTypeId ().GetName () == "ns3::LoopbackNetDevice")
        {
          continue;
        }
      uint8_t mac[6] = {0, 0, 0, 0, 0, 0};
      if (Mac48Address::IsMatchingType (dev->GetAddress ()))
        {
          Mac48Address::ConvertFrom (dev->GetAddress ()).CopyTo (mac);
        }
      bool p2p = dev->IsPointToPoint ();
      uint32_t flags = p2p ? (IFF_POINTOPOINT | IFF_NOARP)
                           : dev->IsBroadcast () ? (IFF_BROADCAST | IFF_MULTICAST) : IFF_NOARP;
      std::ostringstream name;
      name << "eth" << m_devs.size ();
      int r = m_handle->dev_add (name.str (), rust::Slice<const uint8_t> (mac, 6), dev->GetMtu (),
                                 flags);
      if (r < 0)
        {
          NS_FATAL_ERROR ("libos: cannot add device " << name.str () << " to node "
                          << m_node->GetId () << ": errno " << -r);
        }
      uint32_t ifindex = r;
      m_devs.push_back (Attached{dev, ifindex, p2p, name.str ()});
      m_handle->dev_set_carrier (Now (), ifindex, dev->IsLinkUp ());
      m_handle->dev_set_up (Now (), ifindex, true);
      m_node->RegisterProtocolHandler (MakeCallback (&LibosKernel::Receive, this), 0, dev, true);
      dev->AddLinkChangeCallback (MakeBoundCallback (&LibosKernel::LinkChange, this, ifindex));
      NS_LOG_INFO ("node " << m_node->GetId () << " " << name.str () << " ifindex " << ifindex
                           << (p2p ? " point-to-point" : " broadcast"));
    }
  Service ();
}

uint32_t
LibosKernel::GetIfIndex (Ptr<NetDevice> dev) const
{
  for (const Attached &a : m_devs)
    {
      if (a.dev == dev)
        {
          return a.ifindex;
        }
    }
  return 0;
}

std::string
LibosKernel::GetIfName (Ptr<NetDevice> dev) const
{
  for (const Attached &a : m_devs)
    {
      if (a.dev == dev)
        {
          return a.name;
        }
    }
  return "";
}

const LibosKernel::Attached *
LibosKernel::FindIf (uint32_t ifindex) const
{
  for (const Attached &a : m_devs)
    {
      if (a.ifindex == ifindex)
        {
          return &a;
        }
    }
  return nullptr;
}

void
LibosKernel::LinkChange (LibosKernel *self, uint32_t ifindex)
{
  const Attached *a = self->FindIf (ifindex);
  if (a == nullptr || self->m_handle == nullptr)
    {
      return;
    }
  NS_LOG_INFO ("node " << self->m_node->GetId () << " " << a->name << " carrier "
                       << a->dev->IsLinkUp ());
  self->m_handle->dev_set_carrier (self->Now (), ifindex, a->dev->IsLinkUp ());
  self->Service ();
}

void
LibosKernel::Receive (Ptr<NetDevice> dev, Ptr<const Packet> packet, uint16_t protocol,
                      const Address &from, const Address &to, NetDevice::PacketType type)
{
  if (type == NetDevice::PACKET_OTHERHOST)
    {
      return;
    }
  uint32_t ifindex = GetIfIndex (dev);
  if (ifindex == 0)
    {
      return;
    }
  // Rebuild the Ethernet header the device stripped (p2p devices never had one).
  uint32_t size = packet->GetSize ();
  std::vector<uint8_t> frame (14 + size);
  if (Mac48Address::IsMatchingType (to))
    {
      Mac48Address::ConvertFrom (to).CopyTo (&frame[0]);
    }
  else
    {
      Mac48Address::ConvertFrom (dev->GetAddress ()).CopyTo (&frame[0]);
    }
  if (Mac48Address::IsMatchingType (from))
    {
      Mac48Address::ConvertFrom (from).CopyTo (&frame[6]);
    }
  frame[12] = protocol >> 8;
  frame[13] = protocol & 0xff;
  packet->CopyData (&frame[14], size);
  m_framesIn++;
  NS_LOG_LOGIC ("node " << m_node->GetId () << " rx ifindex " << ifindex << " proto "
                        << protocol << " len " << frame.size ());
  m_handle->dev_rx (Now (), ifindex, rust::Slice<const uint8_t> (frame.data (), frame.size ()));
  Service ();
  // Trace sinks may close sockets: walk a copy of the fds.
  std::vector<int> fds;
  for (std::map<int, LibosSocket *>::iterator it = m_sockets.begin (); it != m_sockets.end ();
       ++it)
    {
      fds.push_back (it->first);
    }
  for (int fd : fds)
    {
      std::map<int, LibosSocket *>::iterator it = m_sockets.find (fd);
      if (it != m_sockets.end ())
        {
          Ptr<LibosSocket> s (it->second);
          s->OnFrameIn ();
        }
    }
}

void
LibosKernel::Service (bool deferEvents)
{
  if (m_handle == nullptr || m_node == nullptr || m_inService)
    {
      return;
    }
  m_inService = true;
  bool more = true;
  while (more)
    {
      more = false;
      uint32_t ifindex = 0;
      rust::Vec<uint8_t> frame;
      while (m_handle->poll_transmit (ifindex, frame))
        {
          const Attached *a = FindIf (ifindex);
          if (a == nullptr || frame.size () < 14 || a->dev->GetChannel () == nullptr)
            {
              continue;
            }
          Mac48Address dst;
          dst.CopyFrom (frame.data ());
          uint16_t proto = (uint16_t (frame[12]) << 8) | frame[13];
          Ptr<Packet> p = Create<Packet> (frame.data () + 14, frame.size () - 14);
          m_framesOut++;
          bool ok = a->dev->Send (p, dst, proto);
          NS_LOG_LOGIC ("node " << m_node->GetId () << " tx " << a->name << " proto " << proto
                                << " len " << frame.size () << (ok ? "" : " (device refused)"));
        }
      int fd = 0;
      uint16_t revents = 0;
      while (m_handle->poll_event (fd, revents))
        {
          m_events.emplace_back (fd, revents);
        }
      if (!m_events.empty ())
        {
          if (deferEvents || m_inDispatch)
            {
              if (!m_dispatchPending && !m_inDispatch)
                {
                  m_dispatchPending = true;
                  Simulator::ScheduleWithContext (m_node->GetId (), NanoSeconds (0),
                                                  &LibosKernel::DispatchEvents, this);
                }
            }
          else
            {
              m_inService = false;
              DispatchEvents ();
              m_inService = true;
              more = true;
            }
        }
    }
  m_inService = false;
  CheckPoisoned ();
  Rearm ();
}

void
LibosKernel::DispatchEvents (void)
{
  m_dispatchPending = false;
  if (m_inDispatch || m_node == nullptr)
    {
      return;
    }
  m_inDispatch = true;
  while (!m_events.empty ())
    {
      std::pair<int, uint16_t> e = m_events.front ();
      m_events.pop_front ();
      std::map<int, LibosSocket *>::iterator it = m_sockets.find (e.first);
      if (it != m_sockets.end ())
        {
          it->second->HandleEvent (e.second);
        }
    }
  m_inDispatch = false;
  Service ();
}

void
LibosKernel::Rearm (void)
{
  uint64_t d = m_handle->next_deadline ();
  if (d == NO_DEADLINE)
    {
      return;
    }
  uint64_t now = Now ();
  if (d < now)
    {
      d = now;
    }
  // Exactly one pending timer: keep it if it fires no later than the new deadline
  // (an early advance is a harmless no-op), move it when the deadline moved earlier.
  if (m_timerPending && m_timerAt <= d)
    {
      return;
    }
  // In the node's own context the event is cancellable; from elsewhere (set-up code)
  // it is scheduled with the node's context and a superseded one is a no-op (m_timerGen).
  m_timer.Cancel ();
  m_timerGen++;
  m_timerAt = d;
  m_timerPending = true;
  if (Simulator::GetContext () == m_node->GetId ())
    {
      m_timer = Simulator::Schedule (NanoSeconds (d - now), &LibosKernel::Timer, this, m_timerGen);
    }
  else
    {
      m_timer = EventId ();
      Simulator::ScheduleWithContext (m_node->GetId (), NanoSeconds (d - now), &LibosKernel::Timer,
                                      this, m_timerGen);
    }
}

void
LibosKernel::Timer (uint64_t gen)
{
  if (gen != m_timerGen || m_node == nullptr)
    {
      return;
    }
  m_timerPending = false;
  m_timerAt = NO_DEADLINE;
  m_handle->advance (Now ());
  Service ();
}

int
LibosKernel::SysctlSet (const std::string &name, const std::string &value)
{
  int r = Handle ().sysctl_set (name, value);
  Service ();
  return r;
}

int
LibosKernel::SysctlGet (const std::string &name, std::string &value)
{
  rust::String out;
  int r = Handle ().sysctl_get (name, out);
  value = std::string (out);
  return r;
}

int
LibosKernel::RunIp (const std::string &cmd, std::string &out)
{
  SyncDevices ();
  rust::String s;
  int r = Handle ().run_ip (Now (), cmd, s);
  out = std::string (s);
  Service ();
  return r;
}

void
LibosKernel::RegisterSocket (int fd, LibosSocket *socket)
{
  m_sockets[fd] = socket;
}

void
LibosKernel::UnregisterSocket (int fd)
{
  m_sockets.erase (fd);
}

uint64_t
LibosKernel::GetFramesIn (void) const
{
  return m_framesIn;
}

uint64_t
LibosKernel::GetFramesOut (void) const
{
  return m_framesOut;
}

void
LibosKernel::DoInitialize (void)
{
  if (m_node != nullptr)
    {
      SyncDevices ();
    }
  Object::DoInitialize ();
}

void
LibosKernel::DoDispose (void)
{
  NS_LOG_FUNCTION (this);
  m_timer.Cancel ();
  m_timerGen++;
  m_sockets.clear ();
  m_events.clear ();
  m_devs.clear ();
  m_node = nullptr;
  Object::DoDispose ();
}

} // namespace ns3
