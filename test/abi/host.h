/* Shared by the C host's files (see host.c): the node and task types, the runtime's
 * entry points, and the helpers over the exported table. */
#ifndef LIBOS_ABI_HOST_H
#define LIBOS_ABI_HOST_H
#include <arpa/inet.h>
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <ucontext.h>

#include "sim.h"

#define SEC 1000000000ull
#define MS 1000000ull

extern int failures;
#define CHECK(c, ...)                                          \
  do {                                                         \
    if (!(c)) {                                                \
      failures++;                                              \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);              \
      printf(__VA_ARGS__);                                     \
      printf("\n");                                            \
    }                                                          \
  } while (0)

enum { READY, BLOCKED, DONE };

typedef struct Task {
  ucontext_t uc;
  char *stack;
  int state;
  void (*fn)(void *);
  void *arg;
  struct Node *node;
  struct SimTask *sim;
} Task;

typedef struct Node {
  const char *name;
  int id;
  void *lib;
  struct SimExported exp;
  struct SimImported imp;
  struct SimDevice *dev[2];
  uint64_t rng;
  unsigned long mallocs, frees, poll_events, wakeups;
  int timers_pending, timers_max, timers_armed;
  unsigned char *data; /* cooja: this node's copy of the library's writable segment */
} Node;

/* host.c: time, tasks, the loader, the wire, the imported table. */
extern uint64_t now_ns;
extern unsigned long events_run, frames_tx[2], stub_drops, swaps;
extern Task *current;
extern Node nodes[2];
extern int cooja;
extern size_t seg_len;
void run_until(uint64_t end);
Task *spawn(Node *n, uint64_t delay, void (*fn)(void *), void *arg);
void block(void);
void sleep_ns(uint64_t d);
void enter(Node *n);
void pcap_open(const char *path);
void pcap_close(void);
void fill_imported(struct SimImported *im, int nuse);
void load_node(Node *n, int id, const char *lib);

/* Calls into node n's library: X(n, sock_socket)(...) (loads n's data under cooja). */
#define X(n, f) (enter(n), (n)->exp.f)

struct SimSocket *sock(Node *n, int domain, int type, int proto);
struct sockaddr_in sin4(const char *ip, int port);
ssize_t send_buf(Node *n, struct SimSocket *s, const void *b, size_t len,
                 struct sockaddr_in *to, int flags);
ssize_t recv_buf(Node *n, struct SimSocket *s, void *b, size_t len, struct sockaddr_in *from,
                 int flags);
int poll_wait(Node *n, struct SimSocket *s, int events);

/* config.c: node A over netlink, node B over ioctls, sysctl, an ip-monitor task; the
 * netlink and sysctl helpers are shared with apps6.c. */
typedef struct {
  struct nlmsghdr h;
  char buf[512];
} NlReq;
void nl_attr(NlReq *r, int type, const void *data, int len);
int nl_talk(Node *n, struct SimSocket *s, NlReq *r, void (*each)(struct nlmsghdr *, void *),
            void *arg);
int nl_ifindex(Node *n, struct SimSocket *s, const char *name);
void nl_link_up(Node *n, struct SimSocket *s, int idx);
int sysctl_get(Node *n, const char *dotted, char *out, int len);
int sysctl_set(Node *n, const char *dotted, const char *v);
extern int netlink_ok, ioctl_ok, sysctl_ok, monitor_ok;
void config_a(void *arg);
void config_b(void *arg);
void monitor_b(void *arg);
void sysctl_task(void *arg);

/* apps.c: the DCE-style scenario. */
int run_dce(const char *lib, const char *pcap_path);

/* apps6.c: the IPv6 scenario (TCP, UDP, ICMPv6 between the two nodes). */
int run_dce6(const char *lib, const char *pcap_path);

/* nuse.c: the NUSE-style table. */
int run_nuse(const char *lib);

#endif
