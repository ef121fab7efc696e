/* -*- Mode:C++; c-file-style:"gnu"; indent-tabs-mode:nil; -*- */
/*
 * ns3::LibosKernel: one libos (Rust) network stack instance per ns-3 Node.
 *
 * Aggregated to the Node by LibosStackHelper::Install. It attaches to every NetDevice
 * of the node (promiscuous protocol handler in, NetDevice::Send out, the Ethernet
 * header rebuilt/stripped as DCE did), keeps exactly one pending Simulator event at the
 * instance's next deadline, and routes readiness events to LibosSocket objects.
 */
#ifndef LIBOS_KERNEL_H
#define LIBOS_KERNEL_H

#include "ns3/event-id.h"
#include "ns3/net-device.h"
#include "ns3/node.h"
#include "ns3/object.h"

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace libos
{
struct KernelHandle;
}

namespace ns3
{

class LibosSocket;

class LibosKernel : public Object
{
public:
  static TypeId GetTypeId (void);
  LibosKernel ();
  ~LibosKernel () override;

  /** Creates the Rust instance (seeded from RngSeedManager + node id) and attaches devices. */
  void SetNode (Ptr<Node> node);
  Ptr<Node> GetNode (void) const;
  /** Attaches the node's devices that are not attached yet (eth0, eth1, ... by device index). */
  void SyncDevices (void);
  /** The kernel ifindex of an ns-3 device, 0 if not attached. */
  uint32_t GetIfIndex (Ptr<NetDevice> dev) const;
  std::string GetIfName (Ptr<NetDevice> dev) const;

  /** The Rust instance; after calling into it, call Service(). */
  libos::KernelHandle &Handle (void);
  /** Simulator::Now() in ns, the clock of the instance. */
  uint64_t Now (void) const;
  /**
   * Drains frames to the devices, then readiness events, then rearms the timer.
   * \param deferEvents true when called from a socket call: events are then delivered
   *        from a zero-delay event, never re-entering the application synchronously.
   */
  void Service (bool deferEvents = false);

  /** sysctl by DCE dotted or slashed name; returns 0 or -errno. */
  int SysctlSet (const std::string &name, const std::string &value);
  int SysctlGet (const std::string &name, std::string &value);
  /** An iproute2 command line ("route add ..."); 0 and the output, or -1 and the error. */
  int RunIp (const std::string &cmd, std::string &out);

  void RegisterSocket (int fd, LibosSocket *socket);
  void UnregisterSocket (int fd);

  uint64_t GetFramesIn (void) const;
  uint64_t GetFramesOut (void) const;

protected:
  void DoDispose (void) override;
  void DoInitialize (void) override;

private:
  struct Attached
  {
    Ptr<NetDevice> dev;
    uint32_t ifindex;
    bool pointToPoint;
    std::string name;
  };
  void Receive (Ptr<NetDevice> dev, Ptr<const Packet> packet, uint16_t protocol,
                const Address &from, const Address &to, NetDevice::PacketType type);
  static void LinkChange (LibosKernel *self, uint32_t ifindex);
  void Timer (uint64_t gen);
  void Rearm (void);
  void DispatchEvents (void);
  void CheckPoisoned (void) const;
  const Attached *FindIf (uint32_t ifindex) const;

  Ptr<Node> m_node;
  libos::KernelHandle *m_handle;
  std::vector<Attached> m_devs;
  std::map<int, LibosSocket *> m_sockets;
  std::deque<std::pair<int, uint16_t> > m_events;
  EventId m_timer;
  uint64_t m_timerAt;
  uint64_t m_timerGen;
  bool m_timerPending;
  bool m_dispatchPending;
  bool m_inService;
  bool m_inDispatch;
  uint64_t m_framesIn;
  uint64_t m_framesOut;
};

} // namespace ns3

#endif /* LIBOS_KERNEL_H */
