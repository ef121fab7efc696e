// C++ source compatibility with ns-3 DCE's KernelSocketFdFactory (DCE 1.12,
// model/kernel-socket-fd-factory.{h,cc}, model/linux-socket-fd-factory.cc): the imported
// callbacks are declared here with the parameter types DCE's header gives its static
// member functions, and the exported table is called the way DCE calls it (including the
// `LIBOS_API_VERSION == 2` branch of dev_create and DCE's own `struct poll_table_ref`,
// which must not clash with anything sim-init.h declares). Compiled with
// `g++ -fsyntax-only -Werror` by test_abi.py: a header change that would break DCE's
// build breaks this file.
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include "linux/types.h"
#include "sim-init.h"

#if LIBOS_API_VERSION != 2
#error "DCE selects the dev_create(ifname, priv, flags) branch only for API version 2"
#endif

namespace dce_like {

struct Factory {
  struct SimExported *m_exported;

  static int Vprintf(struct SimKernel *, const char *, va_list) { return 0; }
  static void *Malloc(struct SimKernel *, unsigned long) { return 0; }
  static void Free(struct SimKernel *, void *) {}
  static void *Memcpy(struct SimKernel *, void *d, const void *, unsigned long) { return d; }
  static void *Memset(struct SimKernel *, void *d, char, unsigned long) { return d; }
  static int AtExit(struct SimKernel *, void (*)(void)) { return 0; }
  static int Access(struct SimKernel *, const char *, int) { return 0; }
  static char *Getenv(struct SimKernel *, const char *) { return 0; }
  static int Mkdir(struct SimKernel *, const char *, mode_t) { return 0; }
  static int Open(struct SimKernel *, const char *, int) { return 0; }
  static size_t Fread(struct SimKernel *, void *, size_t, size_t, FILE *) { return 0; }
  static size_t Fwrite(struct SimKernel *, const void *, size_t, size_t, FILE *) { return 0; }
  static FILE *FdOpen(struct SimKernel *, int, const char *) { return 0; }
  static int Fxstat(struct SimKernel *, int, int, void *) { return 0; }
  static int Fseek(struct SimKernel *, FILE *, long, int) { return 0; }
  static void Setbuf(struct SimKernel *, FILE *, char *) {}
  static long Ftell(struct SimKernel *, FILE *) { return 0; }
  static int Fclose(struct SimKernel *, FILE *) { return 0; }
  static unsigned long Random(struct SimKernel *) { return 4; }
  static void *EventScheduleNs(struct SimKernel *, __u64, void (*)(void *), void *,
                               void (*)(void)) { return 0; }
  static void EventCancel(struct SimKernel *, void *) {}
  static struct SimTask *TaskStart(struct SimKernel *, void (*)(void *), void *) { return 0; }
  static struct SimTask *TaskCurrent(struct SimKernel *) { return 0; }
  static void TaskWait(struct SimKernel *) {}
  static int TaskWakeup(struct SimKernel *, struct SimTask *) { return 0; }
  static void TaskYield(struct SimKernel *) {}
  static void DevXmit(struct SimKernel *, struct SimDevice *, unsigned char *, int) {}
  static void SignalRaised(struct SimKernel *, struct SimTask *, int) {}
  static void PollEvent(int, void *) {}

  void Init(SimInit init) {
    struct SimImported imported;
    imported.vprintf = &Factory::Vprintf;
    imported.malloc = &Factory::Malloc;
    imported.free = &Factory::Free;
    imported.memcpy = &Factory::Memcpy;
    imported.memset = &Factory::Memset;
    imported.atexit = &Factory::AtExit;
    imported.access = &Factory::Access;
    imported.getenv = &Factory::Getenv;
    imported.mkdir = &Factory::Mkdir;
    imported.open = &Factory::Open;
    imported.__fxstat = &Factory::Fxstat;
    imported.fseek = &Factory::Fseek;
    imported.setbuf = &Factory::Setbuf;
    imported.ftell = &Factory::Ftell;
    imported.fdopen = &Factory::FdOpen;
    imported.fread = &Factory::Fread;
    imported.fwrite = &Factory::Fwrite;
    imported.fclose = &Factory::Fclose;
    imported.random = &Factory::Random;
    imported.event_schedule_ns = &Factory::EventScheduleNs;
    imported.event_cancel = &Factory::EventCancel;
    imported.task_start = &Factory::TaskStart;
    imported.task_wait = &Factory::TaskWait;
    imported.task_current = &Factory::TaskCurrent;
    imported.task_wakeup = &Factory::TaskWakeup;
    imported.task_yield = &Factory::TaskYield;
    imported.dev_xmit = &Factory::DevXmit;
    imported.signal_raised = &Factory::SignalRaised;
    imported.poll_event = &Factory::PollEvent;
    init(m_exported, &imported, (struct SimKernel *)this);
  }

  // The socket and device calls with DCE's argument types (socklen_t* cast to int*).
  int Calls(struct SimSocket *s, struct msghdr *msg, struct sockaddr *a, socklen_t *len,
            void *device, int flags) {
    struct SimSocket *n = 0;
    int r = m_exported->sock_socket(AF_INET, SOCK_STREAM, 0, &n);
    r += m_exported->sock_recvmsg(s, msg, 0) + m_exported->sock_sendmsg(s, msg, 0);
    r += m_exported->sock_getsockname(s, a, (int *)len);
    r += m_exported->sock_getpeername(s, a, (int *)len);
    r += m_exported->sock_bind(s, a, *len) + m_exported->sock_connect(s, a, *len, flags);
    r += m_exported->sock_listen(s, 5) + m_exported->sock_shutdown(s, 1);
    r += m_exported->sock_accept(s, &n, flags);
    r += m_exported->sock_ioctl(s, 0x8915, (char *)a);
    r += m_exported->sock_setsockopt(s, 1, 2, a, 4);
    r += m_exported->sock_getsockopt(s, 1, 2, a, (int *)len);
    r += m_exported->sock_close(n);
    struct SimDevice *dev =
        m_exported->dev_create("sim%d", device, (enum SimDevFlags)(SIM_DEV_BROADCAST | SIM_DEV_MULTICAST));
    unsigned char mac[6] = {0, 1, 2, 3, 4, 5};
    m_exported->dev_set_address(dev, mac);
    m_exported->dev_set_mtu(dev, 1500);
    struct SimDevicePacket p = m_exported->dev_create_packet(dev, 100);
    m_exported->dev_rx(dev, p);
    (void)m_exported->dev_get_private(dev);
    struct SimTask *t = m_exported->task_create(this, 0);
    (void)m_exported->task_get_private(t);
    m_exported->task_destroy(t);
    return r;
  }
};

// DCE declares this struct itself, in its own .cc file.
struct poll_table_ref {
  int ret;
  void *opaque;
};

int Poll(struct SimExported *e, struct SimSocket *s, void *table) {
  struct poll_table_ref kernelInOut = {0, table};
  e->sock_poll(s, &kernelInOut);
  e->sock_pollfreewait(kernelInOut.opaque);
  return kernelInOut.ret;
}

// LinuxSocketFdFactory's sysctl iterator: SimSysIterator as the first member.
struct MyIterator {
  struct SimSysIterator head;
  static void ReportStartDir(const struct SimSysIterator *, const char *) {}
  static void ReportEndDir(const struct SimSysIterator *) {}
  static void ReportFile(const struct SimSysIterator *, const char *, int flags,
                         struct SimSysFile *) { (void)(flags & SIM_SYS_FILE_WRITE); }
};

void Sysctl(struct SimExported *e, struct SimSysFile *f) {
  MyIterator iter;
  iter.head.report_start_dir = &MyIterator::ReportStartDir;
  iter.head.report_end_dir = &MyIterator::ReportEndDir;
  iter.head.report_file = &MyIterator::ReportFile;
  e->sys_iterate_files((struct SimSysIterator *)&iter);
  char buffer[512];
  e->sys_file_read(f, buffer, sizeof(buffer), 0);
  e->sys_file_write(f, "1", 1, 0);
}

}  // namespace dce_like
