/* A LibOS host in C that drives libos-abi the way ns-3 DCE's KernelSocketFdFactory
 * does, written from its documented call sequence: dlmopen(LM_ID_NEWLM) + dlsym
 * ("sim_init"), an imported table backed by a tiny discrete-event scheduler with
 * cooperative tasks (ucontext), devices created as "sim%d", frames crossing a virtual
 * wire (100 Mb/s, 1 ms) between two instances, a pcap of the wire.
 *
 *   host dce LIB.so OUT.pcap   two nodes: netlink + ioctl + sysctl config, TCP, UDP,
 *                              ICMP echo; prints key=value results, exit 0 when all ok
 *   host cooja LIB.so OUT.pcap the same with ONE copy of the library whose writable
 *                              segment is swapped per node (DCE's default CoojaLoader)
 *   host nuse LIB.so           one instance through lib_init with a NUSE-style table
 *                              (ten slots NULL, kernel cookie NULL), the lib_* calls
 *                              NUSE makes, and NULL/garbage arguments at the boundary
 *
 * Node A (10.0.0.1 on sim0, 10.0.3.1 on sim1) is configured over AF_NETLINK
 * (RTM_GETLINK, RTM_NEWLINK up, RTM_NEWADDR, RTM_NEWROUTE 10.0.2.0/24 via 10.0.0.2,
 * RTM_GETROUTE dump); node B (10.0.0.2 on sim0, 10.0.2.2 on sim1) over ioctls
 * (SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFFLAGS, SIOCADDRT default via 10.0.0.1). */
#define _GNU_SOURCE
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
#define END_TIME (60 * SEC)
#define TCP_BYTES (1 << 20)

static int failures;
#define CHECK(c, ...)                                          \
  do {                                                         \
    if (!(c)) {                                                \
      failures++;                                              \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);              \
      printf(__VA_ARGS__);                                     \
      printf("\n");                                            \
    }                                                          \
  } while (0)

/* ---- scheduler ------------------------------------------------------------------ */

typedef struct Event {
  uint64_t t, seq;
  void (*fn)(void *);
  void *ctx;
  void (*pre)(void);
  int cancelled;
  int *pending; /* the owner's count of pending library timers, or NULL */
  struct Node *node; /* library events: the node whose data must be loaded */
} Event;

struct Node;
static void enter(struct Node *n);
static uint64_t now_ns, seq_no;
static Event **heap;
static size_t nheap, capheap;
static unsigned long events_run;

static int ev_less(Event *a, Event *b) { return a->t < b->t || (a->t == b->t && a->seq < b->seq); }

static Event *schedule(uint64_t delay, void (*fn)(void *), void *ctx, void (*pre)(void)) {
  Event *e = calloc(1, sizeof *e);
  e->t = now_ns + delay;
  e->seq = seq_no++;
  e->fn = fn;
  e->ctx = ctx;
  e->pre = pre;
  if (nheap == capheap) {
    capheap = capheap ? capheap * 2 : 256;
    heap = realloc(heap, capheap * sizeof *heap);
  }
  size_t i = nheap++;
  heap[i] = e;
  while (i > 0 && ev_less(heap[i], heap[(i - 1) / 2])) {
    Event *t = heap[i];
    heap[i] = heap[(i - 1) / 2];
    heap[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
  return e;
}

static Event *pop(void) {
  if (!nheap) return NULL;
  Event *top = heap[0];
  heap[0] = heap[--nheap];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < nheap && ev_less(heap[l], heap[m])) m = l;
    if (r < nheap && ev_less(heap[r], heap[m])) m = r;
    if (m == i) break;
    Event *t = heap[i];
    heap[i] = heap[m];
    heap[m] = t;
    i = m;
  }
  return top;
}

static void run_until(uint64_t end) {
  Event *e;
  while (nheap && heap[0]->t <= end && (e = pop())) {
    now_ns = e->t;
    if (!e->cancelled) {
      if (e->pending) --*e->pending;
      events_run++;
      if (e->node) enter(e->node); /* DCE's EventTrampoline: NotifyStartExecute */
      if (e->pre) e->pre();
      e->fn(e->ctx);
    }
    free(e);
  }
  now_ns = end;
}

/* ---- nodes and cooperative tasks ------------------------------------------------- */

struct Node;
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

/* Task stack size: HOST_STACK bytes (DCE gives `ip` 64 KiB, kernel tasks 128 KiB). */
static size_t stack_size = 1 << 20;
static Task *current;
static ucontext_t main_uc;
static Node nodes[2];

/* ---- DCE's CoojaLoader: one copy of the code, the writable data swapped per node ----
 * DCE's default loader maps the library once and, on every entry into a node's kernel
 * (calls, events, task switches), saves the previous node's .data/.bss and restores this
 * node's. The library must keep all mutable state there (heap through imported malloc). */
static int cooja;
static unsigned char *seg;     /* the library's writable data after RELRO */
static size_t seg_len;
static Node *seg_owner;
static unsigned long swaps;

static void enter(Node *n) {
  if (!cooja || seg_owner == n) return;
  if (seg_owner) memcpy(seg_owner->data, seg, seg_len);
  memcpy(seg, n->data, seg_len);
  seg_owner = n;
  swaps++;
}

/* Calls into node n's library: X(n, sock_socket)(...). */
#define X(n, f) (enter(n), (n)->exp.f)

static const char *want_lib;

static int find_seg(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  (void)arg;
  if (!info->dlpi_name || !strstr(info->dlpi_name, want_lib)) return 0;
  uintptr_t relro_end = 0, start = 0, end = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t a = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_GNU_RELRO) relro_end = (a + ph->p_memsz + 4095) & ~(uintptr_t)4095;
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
      start = a;
      end = a + ph->p_memsz;
    }
  }
  if (relro_end > start) start = relro_end; /* read-only after relocation: same for all */
  if (end > start) {
    seg = (unsigned char *)start;
    seg_len = end - start;
  }
  return 1;
}

static void task_entry(void) {
  Task *t = current;
  t->fn(t->arg);
  t->state = DONE;
  swapcontext(&t->uc, &main_uc);
}

static void resume(void *ctx) {
  Task *t = ctx;
  if (t->state == DONE) return;
  t->state = READY;
  current = t;
  enter(t->node); /* DCE's task switch notifier */
  swapcontext(&main_uc, &t->uc);
  current = NULL;
  if (t->state == DONE) {
    if (t->sim) X(t->node, task_destroy)(t->sim);
    free(t->stack);
    free(t);
  }
}

static Task *spawn(Node *n, uint64_t delay, void (*fn)(void *), void *arg) {
  Task *t = calloc(1, sizeof *t);
  t->fn = fn;
  t->arg = arg;
  t->node = n;
  t->stack = malloc(stack_size);
  getcontext(&t->uc);
  t->uc.uc_stack.ss_sp = t->stack;
  t->uc.uc_stack.ss_size = stack_size;
  t->uc.uc_link = NULL;
  makecontext(&t->uc, task_entry, 0);
  schedule(delay, resume, t, NULL);
  return t;
}

/* Blocks the running task until wake(). */
static void block(void) {
  Task *t = current;
  t->state = BLOCKED;
  swapcontext(&t->uc, &main_uc);
  current = t;
}

static int wake(Task *t) {
  if (!t || t->state != BLOCKED) return 0;
  t->state = READY;
  schedule(0, resume, t, NULL);
  return 1;
}

static void sleep_ns(uint64_t d) {
  Task *t = current;
  t->state = BLOCKED;
  schedule(d, resume, t, NULL);
  swapcontext(&t->uc, &main_uc);
  current = t;
}

/* ---- the wire and its pcap --------------------------------------------------------- */

static FILE *pcap;
static uint64_t busy_until[2];
static unsigned long frames_tx[2], stub_drops;

typedef struct Frame {
  Node *to;
  int len;
  unsigned char data[];
} Frame;

static void pcap_open(const char *path) {
  pcap = fopen(path, "wb");
  if (!pcap) return;
  uint32_t hdr[6] = {0xa1b23c4d, 0x00040002, 0, 0, 65535, 1}; /* ns timestamps, Ethernet */
  fwrite(hdr, sizeof hdr, 1, pcap);
}

static void pcap_write(const unsigned char *d, int len) {
  if (!pcap) return;
  uint32_t rec[4] = {(uint32_t)(now_ns / SEC), (uint32_t)(now_ns % SEC), (uint32_t)len,
                     (uint32_t)len};
  fwrite(rec, sizeof rec, 1, pcap);
  fwrite(d, len, 1, pcap);
}

static void deliver(void *ctx) {
  Frame *f = ctx;
  struct SimDevicePacket p = X(f->to, dev_create_packet)(f->to->dev[0], f->len);
  if (p.buffer) {
    memcpy(p.buffer, f->data, f->len);
    X(f->to, dev_rx)(f->to->dev[0], p);
  }
  free(f);
}

/* ---- the imported table ---------------------------------------------------------- */

#define NODE(k) ((Node *)(k))

static int h_vprintf(struct SimKernel *k, const char *fmt, va_list ap) {
  printf("[%s] ", k ? NODE(k)->name : "nuse");
  return vprintf(fmt, ap);
}
static void *h_malloc(struct SimKernel *k, unsigned long n) {
  if (k) NODE(k)->mallocs++;
  return malloc(n);
}
static void h_free(struct SimKernel *k, void *p) {
  if (k) NODE(k)->frees++;
  free(p);
}
static void *h_memcpy(struct SimKernel *k, void *d, const void *s, unsigned long n) {
  (void)k;
  return memcpy(d, s, n);
}
static void *h_memset(struct SimKernel *k, void *d, char v, unsigned long n) {
  (void)k;
  return memset(d, v, n);
}
static int h_atexit(struct SimKernel *k, void (*f)(void)) { (void)k; (void)f; return 0; }
static int h_access(struct SimKernel *k, const char *p, int m) { (void)k; (void)p; (void)m; return -1; }
static char *h_getenv(struct SimKernel *k, const char *n) { (void)k; (void)n; return NULL; }
static int h_mkdir(struct SimKernel *k, const char *p, mode_t m) { (void)k; (void)p; (void)m; return -1; }
static int h_open(struct SimKernel *k, const char *p, int f) { (void)k; (void)p; (void)f; return -1; }
static int h_fxstat(struct SimKernel *k, int v, int fd, void *b) { (void)k; (void)v; (void)fd; (void)b; return -1; }
static int h_fseek(struct SimKernel *k, FILE *s, long o, int w) { (void)k; (void)s; (void)o; (void)w; return -1; }
static void h_setbuf(struct SimKernel *k, FILE *s, char *b) { (void)k; (void)s; (void)b; }
static FILE *h_fdopen(struct SimKernel *k, int fd, const char *m) { (void)k; (void)fd; (void)m; return NULL; }
static long h_ftell(struct SimKernel *k, FILE *s) { (void)k; (void)s; return -1; }
static int h_fclose(struct SimKernel *k, FILE *s) { (void)k; (void)s; return -1; }
static size_t h_fread(struct SimKernel *k, void *p, size_t s, size_t n, FILE *f) { (void)k; (void)p; (void)s; (void)n; (void)f; return 0; }
static size_t h_fwrite(struct SimKernel *k, const void *p, size_t s, size_t n, FILE *f) { (void)k; (void)p; (void)s; (void)n; (void)f; return 0; }

static unsigned long h_random(struct SimKernel *k) {
  static uint64_t nuse_rng = 99;
  uint64_t *s = k ? &NODE(k)->rng : &nuse_rng;
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (unsigned long)*s;
}

static void *h_event_schedule_ns(struct SimKernel *k, __u64 ns, void (*fn)(void *), void *ctx,
                                 void (*pre)(void)) {
  Event *e = schedule(ns, fn, ctx, pre);
  e->node = k ? NODE(k) : NULL;
  /* The kernel's timer comes with pre_fn (lib_update_jiffies); timed waits without. */
  if (k && pre) {
    Node *n = NODE(k);
    e->pending = &n->timers_pending;
    n->timers_armed++;
    if (++n->timers_pending > n->timers_max) n->timers_max = n->timers_pending;
  }
  return e;
}
static void h_event_cancel(struct SimKernel *k, void *ev) {
  (void)k;
  Event *e = ev;
  if (!e || e->cancelled) return;
  e->cancelled = 1;
  if (e->pending) --*e->pending;
}
static __u64 h_current_ns(struct SimKernel *k) { (void)k; return now_ns; }

static struct SimTask *h_task_start(struct SimKernel *k, void (*cb)(void *), void *ctx) {
  Task *t = spawn(NODE(k), 0, cb, ctx);
  t->sim = X(NODE(k), task_create)(t, 0);
  return t->sim;
}
static void h_task_wait(struct SimKernel *k) {
  (void)k;
  if (current) block();
}
static struct SimTask *h_task_current(struct SimKernel *k) {
  if (!current) return NULL;
  if (!current->sim) current->sim = X(NODE(k), task_create)(current, 1000 + NODE(k)->id);
  return current->sim;
}
static int h_task_wakeup(struct SimKernel *k, struct SimTask *st) {
  NODE(k)->wakeups++;
  return wake(X(NODE(k), task_get_private)(st));
}
static void h_task_yield(struct SimKernel *k) {
  (void)k;
  if (current) sleep_ns(0);
}
static void h_dev_xmit(struct SimKernel *k, struct SimDevice *dev, unsigned char *data, int len) {
  Node *n = NODE(k);
  if (dev != n->dev[0]) {
    stub_drops++;
    return;
  }
  CHECK(len >= 14, "dev_xmit of %d bytes", len);
  frames_tx[n->id]++;
  pcap_write(data, len);
  uint64_t start = busy_until[n->id] > now_ns ? busy_until[n->id] : now_ns;
  busy_until[n->id] = start + (uint64_t)len * 80; /* 100 Mb/s */
  Frame *f = malloc(sizeof *f + len);
  f->to = &nodes[1 - n->id];
  f->len = len;
  memcpy(f->data, data, len);
  schedule(busy_until[n->id] - now_ns + 1 * MS, deliver, f, NULL);
}
static void h_signal_raised(struct SimKernel *k, struct SimTask *t, int sig) { (void)k; (void)t; (void)sig; }

/* poll_event: the context is the polling task (DCE: its PollTable). */
static void h_poll_event(int flag, void *ctx) {
  Task *t = ctx;
  (void)flag;
  t->node->poll_events++;
  wake(t);
}

static void fill_imported(struct SimImported *im, int nuse) {
  memset(im, 0, sizeof *im);
  im->vprintf = h_vprintf;
  im->malloc = h_malloc;
  im->free = h_free;
  im->memcpy = h_memcpy;
  im->memset = h_memset;
  im->access = h_access;
  im->getenv = h_getenv;
  im->fclose = h_fclose;
  im->fwrite = h_fwrite;
  im->random = h_random;
  im->event_schedule_ns = h_event_schedule_ns;
  im->event_cancel = h_event_cancel;
  im->current_ns = h_current_ns;
  im->task_start = h_task_start;
  im->task_wait = h_task_wait;
  im->task_current = h_task_current;
  im->task_wakeup = h_task_wakeup;
  im->dev_xmit = h_dev_xmit;
  im->signal_raised = h_signal_raised;
  im->poll_event = h_poll_event;
  if (nuse) return; /* NUSE leaves these ten NULL */
  im->atexit = h_atexit;
  im->mkdir = h_mkdir;
  im->open = h_open;
  im->__fxstat = h_fxstat;
  im->fseek = h_fseek;
  im->setbuf = h_setbuf;
  im->fdopen = h_fdopen;
  im->ftell = h_ftell;
  im->fread = h_fread;
  im->task_yield = h_task_yield;
}

/* ---- helpers over the exported table --------------------------------------------- */

static struct SimSocket *sock(Node *n, int domain, int type, int proto) {
  struct SimSocket *s = NULL;
  int r = X(n, sock_socket)(domain, type, proto, &s);
  CHECK(r == 0 && s, "%s: sock_socket(%d,%d,%d) = %d", n->name, domain, type, proto, r);
  return s;
}

static struct sockaddr_in sin4(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

static ssize_t send_buf(Node *n, struct SimSocket *s, const void *b, size_t len,
                        struct sockaddr_in *to, int flags) {
  struct iovec iov = {(void *)b, len};
  struct msghdr m = {.msg_name = to, .msg_namelen = to ? sizeof *to : 0, .msg_iov = &iov,
                     .msg_iovlen = 1};
  return X(n, sock_sendmsg)(s, &m, flags);
}

static ssize_t recv_buf(Node *n, struct SimSocket *s, void *b, size_t len,
                        struct sockaddr_in *from, int flags) {
  struct iovec iov = {b, len};
  struct msghdr m = {.msg_name = from, .msg_namelen = from ? sizeof *from : 0, .msg_iov = &iov,
                     .msg_iovlen = 1};
  return X(n, sock_recvmsg)(s, &m, flags);
}

/* The host side of poll (DCE's dce-poll): register, sleep until poll_event, probe. */
static int poll_wait(Node *n, struct SimSocket *s, int events) {
  struct poll_table_ref ref = {events, current};
  X(n, sock_poll)(s, &ref);
  int mask = ref.ret;
  void *table = ref.opaque;
  while (!(mask & (events | POLLERR | POLLHUP))) {
    block();
    struct poll_table_ref probe = {events, NULL};
    X(n, sock_poll)(s, &probe);
    mask = probe.ret;
  }
  if (table) X(n, sock_pollfreewait)(table);
  return mask;
}

/* ---- netlink configuration (node A) ------------------------------------------------ */

typedef struct {
  struct nlmsghdr h;
  char buf[512];
} NlReq;

static void nl_attr(NlReq *r, int type, const void *data, int len) {
  struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static unsigned char nl_reply[65536];

/* Sends a request; collects the replies until the ack (returns its error) or DONE. */
static int nl_talk(Node *n, struct SimSocket *s, NlReq *r, void (*each)(struct nlmsghdr *, void *),
                   void *arg) {
  static unsigned seq = 1;
  r->h.nlmsg_seq = seq++;
  ssize_t w = send_buf(n, s, r, r->h.nlmsg_len, NULL, 0);
  CHECK(w == (ssize_t)r->h.nlmsg_len, "netlink send = %zd", w);
  for (;;) {
    struct sockaddr_nl from;
    struct iovec iov = {nl_reply, sizeof nl_reply};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                       .msg_iovlen = 1};
    ssize_t got = X(n, sock_recvmsg)(s, &m, MSG_DONTWAIT);
    if (got <= 0) return got < 0 ? (int)got : -EIO;
    CHECK(m.msg_namelen == sizeof from && from.nl_family == AF_NETLINK && from.nl_pid == 0,
          "netlink reply source");
    int len = (int)got;
    for (struct nlmsghdr *h = (struct nlmsghdr *)nl_reply; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (each) each(h, arg);
    }
  }
}

static void got_ifindex(struct nlmsghdr *h, void *arg) {
  if (h->nlmsg_type == RTM_NEWLINK) *(int *)arg = ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
}

static int nl_ifindex(Node *n, struct SimSocket *s, const char *name) {
  NlReq r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
                   .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK}};
  nl_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
  int idx = 0;
  int e = nl_talk(n, s, &r, got_ifindex, &idx);
  CHECK(e == 0 && idx > 1, "RTM_GETLINK %s: err %d index %d", name, e, idx);
  return idx;
}

static void nl_link_up(Node *n, struct SimSocket *s, int idx) {
  NlReq r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
                   .nlmsg_type = RTM_NEWLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK}};
  struct ifinfomsg *i = NLMSG_DATA(&r.h);
  i->ifi_index = idx;
  i->ifi_flags = IFF_UP;
  i->ifi_change = IFF_UP;
  int e = nl_talk(n, s, &r, NULL, NULL);
  CHECK(e == 0, "RTM_NEWLINK up: %d", e);
}

static void nl_addr(Node *n, struct SimSocket *s, int idx, const char *ip, int plen) {
  NlReq r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)), .nlmsg_type = RTM_NEWADDR,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL}};
  struct ifaddrmsg *a = NLMSG_DATA(&r.h);
  a->ifa_family = AF_INET;
  a->ifa_prefixlen = plen;
  a->ifa_index = idx;
  struct in_addr in;
  inet_pton(AF_INET, ip, &in);
  nl_attr(&r, IFA_LOCAL, &in, 4);
  nl_attr(&r, IFA_ADDRESS, &in, 4);
  int e = nl_talk(n, s, &r, NULL, NULL);
  CHECK(e == 0, "RTM_NEWADDR %s: %d", ip, e);
}

static void nl_route(Node *n, struct SimSocket *s, const char *dst, int plen, const char *gw, int oif) {
  NlReq r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = RTM_NEWROUTE,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL}};
  struct rtmsg *rt = NLMSG_DATA(&r.h);
  rt->rtm_family = AF_INET;
  rt->rtm_dst_len = plen;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  struct in_addr d, g;
  inet_pton(AF_INET, dst, &d);
  inet_pton(AF_INET, gw, &g);
  nl_attr(&r, RTA_DST, &d, 4);
  nl_attr(&r, RTA_GATEWAY, &g, 4);
  nl_attr(&r, RTA_OIF, &oif, 4);
  int e = nl_talk(n, s, &r, NULL, NULL);
  CHECK(e == 0, "RTM_NEWROUTE %s/%d via %s: %d", dst, plen, gw, e);
}

static void find_route(struct nlmsghdr *h, void *arg) {
  if (h->nlmsg_type != RTM_NEWROUTE) return;
  struct rtmsg *rt = NLMSG_DATA(h);
  int len = RTM_PAYLOAD(h);
  uint32_t dst = 0, gw = 0;
  for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == RTA_DST) memcpy(&dst, RTA_DATA(a), 4);
    if (a->rta_type == RTA_GATEWAY) memcpy(&gw, RTA_DATA(a), 4);
  }
  if (rt->rtm_dst_len == 24 && dst == inet_addr("10.0.2.0") && gw == inet_addr("10.0.0.2"))
    (*(int *)arg)++;
}

static int netlink_ok, ioctl_ok, sysctl_ok, monitor_ok;

/* `ip monitor` on node B: multicast groups by bind (nl_groups) and by
 * NETLINK_ADD_MEMBERSHIP; a blocking recvmsg woken by the kernel's notifications of the
 * ioctl configuration (two RTM_NEWADDR, the default route's RTM_NEWROUTE). */
static void monitor_b(void *arg) {
  Node *n = arg;
  struct SimSocket *s = sock(n, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  struct sockaddr_nl me = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR};
  CHECK(X(n, sock_bind)(s, (struct sockaddr *)&me, sizeof me) == 0, "bind nl_groups");
  int grp = RTNLGRP_IPV4_ROUTE;
  CHECK(X(n, sock_setsockopt)(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof grp) == 0,
        "NETLINK_ADD_MEMBERSHIP");
  int len = sizeof me;
  CHECK(X(n, sock_getsockname)(s, (struct sockaddr *)&me, &len) == 0 &&
            me.nl_groups == (RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE),
        "monitor groups %#x", me.nl_groups);
  struct timeval tv = {1, 0};
  X(n, sock_setsockopt)(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int addrs = 0, default_route = 0;
  static unsigned char mon[16384];
  while (addrs < 2 || !default_route) {
    ssize_t got = recv_buf(n, s, mon, sizeof mon, NULL, 0); /* parks the task */
    if (got <= 0) break;
    int l = (int)got;
    for (struct nlmsghdr *h = (struct nlmsghdr *)mon; NLMSG_OK(h, l); h = NLMSG_NEXT(h, l)) {
      if (h->nlmsg_type == RTM_NEWADDR) addrs++;
      if (h->nlmsg_type == RTM_NEWROUTE && ((struct rtmsg *)NLMSG_DATA(h))->rtm_dst_len == 0 &&
          ((struct rtmsg *)NLMSG_DATA(h))->rtm_table == RT_TABLE_MAIN)
        default_route++;
    }
  }
  /* Woken by the notifications themselves, not by the 1 s timeout. */
  monitor_ok = addrs >= 2 && default_route == 1 && now_ns < 100 * MS;
  CHECK(monitor_ok, "monitor saw %d RTM_NEWADDR, %d default RTM_NEWROUTE by %llu ns", addrs,
        default_route, (unsigned long long)now_ns);
  X(n, sock_close)(s);
}

static void config_a(void *arg) {
  Node *n = arg;
  struct SimSocket *s = sock(n, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  struct sockaddr_nl me = {.nl_family = AF_NETLINK};
  CHECK(X(n, sock_bind)(s, (struct sockaddr *)&me, sizeof me) == 0, "netlink bind");
  int len = sizeof me;
  CHECK(X(n, sock_getsockname)(s, (struct sockaddr *)&me, &len) == 0 && me.nl_pid != 0,
        "netlink getsockname");
  int i0 = nl_ifindex(n, s, "sim0"), i1 = nl_ifindex(n, s, "sim1");
  nl_link_up(n, s, i0);
  nl_link_up(n, s, i1);
  nl_addr(n, s, i0, "10.0.0.1", 24);
  nl_addr(n, s, i1, "10.0.3.1", 24);
  nl_route(n, s, "10.0.2.0", 24, "10.0.0.2", i0);
  NlReq dump = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
                      .nlmsg_type = RTM_GETROUTE, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP}};
  ((struct rtmsg *)NLMSG_DATA(&dump.h))->rtm_family = AF_INET;
  int found = 0;
  int e = nl_talk(n, s, &dump, find_route, &found);
  CHECK(e == 0 && found == 1, "RTM_GETROUTE dump: err %d, route found %d times", e, found);
  CHECK(X(n, sock_close)(s) == 0, "netlink close");
  netlink_ok = failures == 0;
}

static int ifreq_ioctl(Node *n, struct SimSocket *s, int req, const char *dev, const char *ip) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
  if (ip) {
    struct sockaddr_in a = sin4(ip, 0);
    memcpy(&ifr.ifr_addr, &a, sizeof a);
  }
  if (req == SIOCSIFFLAGS) {
    int r = X(n, sock_ioctl)(s, SIOCGIFFLAGS, (char *)&ifr);
    if (r) return r;
    ifr.ifr_flags |= IFF_UP;
  }
  return X(n, sock_ioctl)(s, req, (char *)&ifr);
}

static void config_b(void *arg) {
  Node *n = arg;
  int f0 = failures;
  struct SimSocket *s = sock(n, AF_INET, SOCK_DGRAM, 0);
  const char *devs[2] = {"sim0", "sim1"}, *ips[2] = {"10.0.0.2", "10.0.2.2"};
  for (int i = 0; i < 2; i++) {
    CHECK(ifreq_ioctl(n, s, SIOCSIFADDR, devs[i], ips[i]) == 0, "SIOCSIFADDR %s", devs[i]);
    CHECK(ifreq_ioctl(n, s, SIOCSIFNETMASK, devs[i], "255.255.255.0") == 0, "SIOCSIFNETMASK");
    CHECK(ifreq_ioctl(n, s, SIOCSIFFLAGS, devs[i], NULL) == 0, "SIOCSIFFLAGS %s", devs[i]);
  }
  struct rtentry rt;
  memset(&rt, 0, sizeof rt);
  struct sockaddr_in any = sin4("0.0.0.0", 0), gw = sin4("10.0.0.1", 0);
  memcpy(&rt.rt_dst, &any, sizeof any);
  memcpy(&rt.rt_genmask, &any, sizeof any);
  memcpy(&rt.rt_gateway, &gw, sizeof gw);
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  rt.rt_dev = "sim0";
  int r = X(n, sock_ioctl)(s, SIOCADDRT, (char *)&rt);
  CHECK(r == 0, "SIOCADDRT default via 10.0.0.1: %d", r);
  /* Read back: SIOCGIFADDR, SIOCGIFFLAGS, SIOCGIFCONF. */
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "sim0");
  CHECK(X(n, sock_ioctl)(s, SIOCGIFADDR, (char *)&ifr) == 0 &&
            ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr == inet_addr("10.0.0.2"),
        "SIOCGIFADDR sim0");
  CHECK(X(n, sock_ioctl)(s, SIOCGIFFLAGS, (char *)&ifr) == 0 && (ifr.ifr_flags & IFF_UP),
        "SIOCGIFFLAGS sim0");
  struct ifreq list[8];
  struct ifconf ifc = {.ifc_len = sizeof list, .ifc_req = list};
  CHECK(X(n, sock_ioctl)(s, SIOCGIFCONF, (char *)&ifc) == 0 &&
            ifc.ifc_len == 3 * (int)sizeof(struct ifreq),
        "SIOCGIFCONF: %d bytes", ifc.ifc_len);
  CHECK(X(n, sock_ioctl)(s, 0x7fff, (char *)&ifr) == -ENOTTY, "unknown ioctl is -ENOTTY");
  X(n, sock_close)(s);
  ioctl_ok = failures == f0;
}

/* ---- sysctl through sys_iterate_files (DCE's LinuxSocketFdFactory::Set/Get) ---------- */

typedef struct {
  struct SimSysIterator it;
  char path[256];
  const char *want;
  struct SimSysFile *found;
  int files;
} SysIter;

static void it_start(const struct SimSysIterator *it, const char *dir) {
  SysIter *s = (SysIter *)it;
  strcat(s->path, ".");
  strcat(s->path, dir);
}
static void it_end(const struct SimSysIterator *it) {
  SysIter *s = (SysIter *)it;
  char *dot = strrchr(s->path, '.');
  if (dot) *dot = 0;
}
static void it_file(const struct SimSysIterator *it, const char *name, int flags, struct SimSysFile *f) {
  SysIter *s = (SysIter *)it;
  char full[300];
  snprintf(full, sizeof full, "%s.%s", s->path, name);
  s->files++;
  if (!strcmp(full, s->want) && (flags & SIM_SYS_FILE_WRITE)) s->found = f;
}

static struct SimSysFile *sysfile(Node *n, const char *dotted, int *files) {
  SysIter s = {.it = {it_start, it_end, it_file}, .want = dotted};
  X(n, sys_iterate_files)(&s.it);
  CHECK(s.found, "%s: sysctl %s not found among %d files", n->name, dotted, s.files);
  CHECK(s.path[0] == 0, "unbalanced start/end_dir: %s", s.path);
  if (files) *files = s.files;
  return s.found;
}

static int sysctl_get(Node *n, const char *dotted, char *out, int len) {
  struct SimSysFile *f = sysfile(n, dotted, NULL);
  if (!f) return -1;
  int r = X(n, sys_file_read)(f, out, len - 1, 0);
  out[r > 0 ? r : 0] = 0;
  if (r > 0 && out[r - 1] == '\n') out[r - 1] = 0;
  return r;
}

static int sysctl_set(Node *n, const char *dotted, const char *v) {
  struct SimSysFile *f = sysfile(n, dotted, NULL);
  return f ? X(n, sys_file_write)(f, v, strlen(v), 0) : -1;
}

static void sysctl_task(void *arg) {
  Node *n = arg;
  int f0 = failures, files = 0;
  char v[512];
  sysfile(n, ".net.ipv4.tcp_congestion_control", &files);
  CHECK(files > 50, "only %d sysctl files", files);
  CHECK(sysctl_get(n, ".net.ipv4.tcp_congestion_control", v, sizeof v) > 0 && !strcmp(v, "cubic"),
        "default congestion control '%s'", v);
  /* What DCE's LinuxSocketFdFactory::InitializeStack writes on every node. */
  CHECK(sysctl_set(n, ".net.ipv4.conf.all.forwarding", "1") == 1, "write forwarding");
  CHECK(sysctl_get(n, ".net.ipv4.conf.all.forwarding", v, sizeof v) > 0 && !strcmp(v, "1"),
        "forwarding reads '%s'", v);
  if (n->id == 0) {
    CHECK(sysctl_set(n, ".net.ipv4.tcp_congestion_control", "reno\n") == 5, "write reno");
    CHECK(sysctl_get(n, ".net.ipv4.tcp_congestion_control", v, sizeof v) > 0 &&
              !strcmp(v, "reno"), "congestion control now '%s'", v);
    CHECK(sysctl_set(n, ".net.ipv4.tcp_congestion_control", "nonesuch") < 0, "bad value refused");
  }
  if (n->id == 0) sysctl_ok = failures == f0;
  else sysctl_ok = sysctl_ok && failures == f0;
}

/* ---- applications ------------------------------------------------------------------ */

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + i / 251); }

static size_t tcp_received;
static int tcp_ok, tcp_cc_ok, udp_ok, icmp_ok, rcvtimeo_ok, waitall_ok;

static void tcp_server(void *arg) {
  Node *n = arg;
  struct SimSocket *l = sock(n, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = sin4("10.0.0.2", 5001);
  CHECK(X(n, sock_bind)(l, (struct sockaddr *)&a, sizeof a) == 0, "tcp bind");
  CHECK(X(n, sock_listen)(l, 8) == 0, "listen");
  struct SimSocket *c = NULL;
  /* DCE passes the file's status flags: O_NONBLOCK means this accept does not wait. */
  CHECK(X(n, sock_accept)(l, &c, O_NONBLOCK) == -EAGAIN, "non-blocking accept");
  int r = X(n, sock_accept)(l, &c, 0); /* blocks in the library: task_wait/task_wakeup */
  CHECK(r == 0 && c, "accept = %d", r);
  if (!c) return;
  struct sockaddr_in peer;
  int plen = sizeof peer;
  CHECK(X(n, sock_getpeername)(c, (struct sockaddr *)&peer, &plen) == 0 &&
            peer.sin_addr.s_addr == inet_addr("10.0.0.1"),
        "getpeername");
  static unsigned char buf[100000];
  int bad = 0;
  /* MSG_WAITALL: one blocking call returns all 100000 bytes (many segments). */
  ssize_t first = recv_buf(n, c, buf, 100000, NULL, MSG_WAITALL);
  waitall_ok = first == 100000;
  CHECK(waitall_ok, "MSG_WAITALL recv = %zd", first);
  for (ssize_t i = 0; i < first; i++)
    if (buf[i] != pattern(i)) bad++;
  tcp_received = first > 0 ? first : 0;
  for (;;) {
    /* Host-side poll: sock_poll registers this task, poll_event wakes it. */
    poll_wait(n, c, POLLIN);
    ssize_t got = recv_buf(n, c, buf, sizeof buf, NULL, MSG_DONTWAIT);
    if (got == -EAGAIN) continue;
    if (got <= 0) break;
    for (ssize_t i = 0; i < got; i++)
      if (buf[i] != pattern(tcp_received + i)) bad++;
    tcp_received += got;
  }
  CHECK(bad == 0, "%d corrupted bytes", bad);
  tcp_ok = bad == 0 && tcp_received == TCP_BYTES;
  X(n, sock_close)(c);
  X(n, sock_close)(l);
}

static void tcp_client(void *arg) {
  Node *n = arg;
  struct SimSocket *s = sock(n, AF_INET, SOCK_STREAM, 0);
  char cc[16] = {0};
  int cclen = sizeof cc;
  CHECK(X(n, sock_getsockopt)(s, IPPROTO_TCP, TCP_CONGESTION, cc, &cclen) == 0, "TCP_CONGESTION");
  tcp_cc_ok = !strcmp(cc, "reno");
  CHECK(tcp_cc_ok, "new socket's congestion control '%s' (sysctl said reno)", cc);
  struct sockaddr_in a = sin4("10.0.0.2", 5001);
  int r = X(n, sock_connect)(s, (struct sockaddr *)&a, sizeof a, 0); /* blocking */
  CHECK(r == 0, "connect = %d", r);
  static unsigned char data[TCP_BYTES];
  for (size_t i = 0; i < TCP_BYTES; i++) data[i] = pattern(i);
  for (size_t off = 0; off < TCP_BYTES; off += 65536) {
    /* Two iovecs per message: the library gathers them. */
    struct iovec iov[2] = {{data + off, 1000}, {data + off + 1000, 65536 - 1000}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t w = X(n, sock_sendmsg)(s, &m, 0); /* blocking: returns when all is queued */
    CHECK(w == 65536, "sendmsg = %zd", w);
    if (w != 65536) break;
  }
  X(n, sock_close)(s);
}

static void udp_echo(void *arg) {
  Node *n = arg;
  struct SimSocket *s = sock(n, AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = sin4("10.0.3.1", 7);
  CHECK(X(n, sock_bind)(s, (struct sockaddr *)&a, sizeof a) == 0, "udp bind");
  for (int k = 0; k < 3; k++) {
    char buf[256];
    struct sockaddr_in from;
    ssize_t got = recv_buf(n, s, buf, sizeof buf, &from, 0); /* blocks in the library */
    CHECK(got > 0 && from.sin_addr.s_addr == inet_addr("10.0.0.2"), "udp echo recv %zd", got);
    if (got <= 0) break;
    send_buf(n, s, buf, got, &from, 0);
  }
  X(n, sock_close)(s);
}

static void udp_client(void *arg) {
  Node *n = arg;
  struct SimSocket *s = sock(n, AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = sin4("10.0.3.1", 7);
  for (int k = 0; k < 3; k++) {
    char msg[64], back[64];
    int len = snprintf(msg, sizeof msg, "datagram %d from B", k);
    ssize_t w = send_buf(n, s, msg, len, &to, 0); /* routed by the SIOCADDRT default */
    CHECK(w == len, "udp send = %zd", w);
    struct sockaddr_in from;
    ssize_t got = recv_buf(n, s, back, sizeof back, &from, 0);
    int ok = got == len && !memcmp(msg, back, len) && from.sin_addr.s_addr == to.sin_addr.s_addr &&
             from.sin_port == htons(7);
    CHECK(ok, "udp reply %d: %zd bytes", k, got);
    udp_ok += ok;
  }
  /* SO_RCVTIMEO: a blocking recv on an empty socket gives up after exactly 200 ms. */
  struct timeval tv = {0, 200000}, back_tv;
  int tvlen = sizeof back_tv;
  CHECK(X(n, sock_setsockopt)(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0, "SO_RCVTIMEO");
  CHECK(X(n, sock_getsockopt)(s, SOL_SOCKET, SO_RCVTIMEO, &back_tv, &tvlen) == 0 &&
            back_tv.tv_usec == 200000, "SO_RCVTIMEO read back");
  uint64_t t0 = now_ns;
  char none[8];
  ssize_t got = recv_buf(n, s, none, sizeof none, NULL, 0);
  rcvtimeo_ok = got == -EAGAIN && now_ns - t0 == 200 * MS;
  CHECK(rcvtimeo_ok, "timed recv = %zd after %llu ns", got, (unsigned long long)(now_ns - t0));
  X(n, sock_close)(s);
}

static uint16_t csum(const void *p, int len) {
  const uint8_t *b = p;
  uint32_t s = 0;
  for (int i = 0; i + 1 < len; i += 2) s += (b[i] << 8) | b[i + 1];
  if (len & 1) s += b[len - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return htons((uint16_t)~s);
}

static void pinger(void *arg) {
  Node *n = arg;
  struct SimSocket *s = sock(n, AF_INET, SOCK_RAW, IPPROTO_ICMP);
  struct sockaddr_in to = sin4("10.0.2.2", 0); /* B's sim1: via the RTM_NEWROUTE route */
  for (int k = 0; k < 3; k++) {
    unsigned char req[64] = {8, 0, 0, 0, 0x12, 0x34, 0, (unsigned char)k};
    for (int i = 8; i < 64; i++) req[i] = (unsigned char)i;
    uint16_t c = csum(req, sizeof req);
    memcpy(req + 2, &c, 2);
    CHECK(send_buf(n, s, req, sizeof req, &to, 0) == sizeof req, "icmp send");
    unsigned char rep[256];
    for (;;) {
      ssize_t got = recv_buf(n, s, rep, sizeof rep, NULL, 0); /* blocks in the library */
      if (got < 28) {
        CHECK(0, "icmp recv = %zd", got);
        break;
      }
      int ihl = (rep[0] & 15) * 4;
      unsigned char *ic = rep + ihl;
      if (ic[0] != 0) continue; /* our own echo request, as raw sockets see it */
      int ok = got - ihl == 64 && ic[4] == 0x12 && ic[5] == 0x34 && ic[7] == k &&
               !memcmp(ic + 8, req + 8, 56);
      CHECK(ok, "echo reply %d", k);
      icmp_ok += ok;
      break;
    }
    sleep_ns(100 * MS);
  }
  X(n, sock_close)(s);
}

/* Non-blocking connect to a closed port: -EINPROGRESS, then the RST arrives as a
 * poll_event (POLLERR) and SO_ERROR says ECONNREFUSED. */
static int refused_ok;

static void nb_connect(void *arg) {
  Node *n = arg;
  struct SimSocket *s = sock(n, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin4("10.0.0.2", 5999);
  int r = X(n, sock_connect)(s, (struct sockaddr *)&a, sizeof a, O_NONBLOCK);
  CHECK(r == -EINPROGRESS, "non-blocking connect = %d", r);
  int mask = poll_wait(n, s, POLLOUT);
  int err = 0, len = sizeof err;
  CHECK(X(n, sock_getsockopt)(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0, "SO_ERROR");
  refused_ok = r == -EINPROGRESS && (mask & POLLERR) && err == ECONNREFUSED;
  CHECK(refused_ok, "refused connect: mask %#x SO_ERROR %d", mask, err);
  X(n, sock_close)(s);
}

/* A socket closed while another task is parked in a blocking recv on it: the reader
 * wakes with -EBADF instead of sleeping forever. */
static struct SimSocket *victim;
static int close_wake_ok;

static void parked_reader(void *arg) {
  Node *n = arg;
  victim = sock(n, AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = sin4("10.0.0.2", 9999);
  CHECK(X(n, sock_bind)(victim, (struct sockaddr *)&a, sizeof a) == 0, "bind 9999");
  char b[8];
  ssize_t got = recv_buf(n, victim, b, sizeof b, NULL, 0);
  close_wake_ok = got == -EBADF;
  CHECK(close_wake_ok, "recv on a socket closed meanwhile = %zd", got);
}

static void closer(void *arg) {
  Node *n = arg;
  CHECK(X(n, sock_close)(victim) == 0, "close under a parked reader");
}

/* ---- DCE-style run ----------------------------------------------------------------- */

static void load_node(Node *n, int id, const char *lib) {
  n->id = id;
  n->name = id ? "B" : "A";
  n->rng = 0x9e3779b97f4a7c15ull * (id + 1);
  /* dlmopen: each node its own copy of the library's globals, a new link-map namespace.
   * cooja: one copy, its writable segment swapped per node (DCE's default loader). */
  if (cooja && id > 0) {
    n->lib = nodes[0].lib;
  } else if (cooja) {
    n->lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    want_lib = strrchr(lib, '/') ? strrchr(lib, '/') + 1 : lib;
    dl_iterate_phdr(find_seg, NULL);
    if (!seg) {
      printf("FAIL: no writable segment found for %s\n", lib);
      exit(2);
    }
  } else {
    n->lib = dlmopen(LM_ID_NEWLM, lib, RTLD_NOW | RTLD_LOCAL);
  }
  if (cooja) {
    /* Every node starts from the segment as loaded, before any sim_init. */
    static unsigned char *pristine;
    if (!pristine) {
      pristine = malloc(seg_len);
      memcpy(pristine, seg, seg_len);
    }
    n->data = malloc(seg_len);
    memcpy(n->data, pristine, seg_len);
  }
  if (!n->lib) {
    printf("FAIL dlmopen: %s\n", dlerror());
    exit(2);
  }
  SimInit init = (SimInit)dlsym(n->lib, "sim_init");
  if (!init) {
    printf("FAIL dlsym sim_init: %s\n", dlerror());
    exit(2);
  }
  fill_imported(&n->imp, 0);
  memset(&n->exp, 0, sizeof n->exp);
  enter(n);
  init(&n->exp, &n->imp, (struct SimKernel *)n);
  void **slots = (void **)&n->exp;
  for (size_t i = 0; i < sizeof n->exp / sizeof(void *); i++)
    CHECK(slots[i], "exported slot %zu is NULL", i);
  /* DCE's NotifyAddDevice: dev_create("sim%d", ...) then dev_set_address + dev_set_mtu. */
  for (int d = 0; d < 2; d++) {
    n->dev[d] = X(n, dev_create)("sim%d", n, SIM_DEV_BROADCAST | SIM_DEV_MULTICAST);
    CHECK(n->dev[d] && X(n, dev_get_private)(n->dev[d]) == n, "dev_create sim%d", d);
    unsigned char mac[6] = {0x02, 0, 0, 0, (unsigned char)id, (unsigned char)(d + 1)};
    X(n, dev_set_address)(n->dev[d], mac);
    X(n, dev_set_mtu)(n->dev[d], 1500);
  }
}

static int run_dce(const char *lib, const char *pcap_path) {
  pcap_open(pcap_path);
  for (int i = 0; i < 2; i++) load_node(&nodes[i], i, lib);
  Node *a = &nodes[0], *b = &nodes[1];
  spawn(a, 0, config_a, a);
  spawn(b, 0, monitor_b, b);
  spawn(b, 0, config_b, b);
  spawn(a, 1 * MS, sysctl_task, a);
  spawn(b, 1 * MS, sysctl_task, b);
  spawn(b, 10 * MS, tcp_server, b);
  spawn(a, 20 * MS, tcp_client, a);
  spawn(a, 10 * MS, udp_echo, a);
  spawn(b, 30 * MS, udp_client, b);
  spawn(a, 40 * MS, pinger, a);
  spawn(b, 5 * MS, parked_reader, b);
  spawn(a, 60 * MS, nb_connect, a);
  spawn(b, 50 * MS, closer, b);
  run_until(END_TIME);
  if (pcap) fclose(pcap);
  printf("monitor_ok=%d ", monitor_ok);
  printf("netlink_ok=%d ioctl_ok=%d sysctl_ok=%d tcp_cc_reno=%d\n", netlink_ok, ioctl_ok,
         sysctl_ok, tcp_cc_ok);
  printf("tcp_waitall_ok=%d close_wake_ok=%d refused_ok=%d ", waitall_ok, close_wake_ok,
         refused_ok);
  printf("tcp_bytes=%zu tcp_ok=%d udp_replies=%d icmp_replies=%d rcvtimeo_ok=%d\n",
         tcp_received, tcp_ok, udp_ok, icmp_ok, rcvtimeo_ok);
  printf("frames_a=%lu frames_b=%lu stub_drops=%lu events=%lu\n", frames_tx[0], frames_tx[1],
         stub_drops, events_run);
  if (cooja) printf("segment_bytes=%zu swaps=%lu\n", seg_len, swaps);
  printf("max_pending_timers=%d timers_armed=%d\n",
         a->timers_max > b->timers_max ? a->timers_max : b->timers_max,
         a->timers_armed + b->timers_armed);
  printf("poll_events=%lu task_wakeups=%lu host_mallocs=%lu host_frees=%lu\n",
         a->poll_events + b->poll_events, a->wakeups + b->wakeups, a->mallocs + b->mallocs,
         a->frees + b->frees);
  int ok = !failures && monitor_ok && netlink_ok && ioctl_ok && sysctl_ok && tcp_cc_ok && tcp_ok &&
           udp_ok == 3 && icmp_ok == 3 && rcvtimeo_ok && waitall_ok && close_wake_ok &&
           refused_ok;
  printf("result=%s failures=%d\n", ok ? "ok" : "FAIL", failures);
  return ok ? 0 : 1;
}

/* ---- NUSE-style run ---------------------------------------------------------------- */

static int run_nuse(const char *lib) {
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    printf("FAIL dlopen: %s\n", dlerror());
    return 2;
  }
  SimInit init = (SimInit)dlsym(h, "lib_init");
  void *(*l_malloc)(unsigned long) = dlsym(h, "lib_malloc");
  void (*l_free)(void *) = dlsym(h, "lib_free");
  void (*l_printf)(const char *, ...) = dlsym(h, "lib_printf");
  void (*l_jiffies)(void) = dlsym(h, "lib_update_jiffies");
  void (*l_softirq)(void) = dlsym(h, "lib_softirq_wakeup");
  CHECK(init && l_malloc && l_free && l_printf && l_jiffies && l_softirq, "lib_* symbols");
  if (!init) return 1;
  struct SimImported im;
  fill_imported(&im, 1);
  int nulls = 0;
  for (size_t i = 0; i < sizeof im / sizeof(void *); i++) nulls += ((void **)&im)[i] == NULL;
  CHECK(nulls == 10, "%d NULL slots", nulls);
  /* No task model behind the NUSE table here: the library must never block. */
  im.task_current = NULL;
  struct SimExported ex;
  /* Before any instance exists lib_* calls are no-ops; NULL tables are refused. */
  l_softirq();
  init(NULL, &im, NULL);
  init(&ex, NULL, NULL);
  init(&ex, &im, NULL);
  char *p = l_malloc(100);
  CHECK(p != NULL, "lib_malloc");
  memset(p, 1, 100);
  l_free(p);
  l_printf("lib_printf: %s %d %x\n", "nuse", 42, 0xbeef);
  l_jiffies();
  /* lo is up: UDP to ourselves over loopback. */
  struct SimSocket *s = NULL;
  CHECK(ex.sock_socket(AF_INET, SOCK_DGRAM, 0, &s) == 0, "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  CHECK(ex.sock_ioctl(s, SIOCGIFFLAGS, (char *)&ifr) == 0 && (ifr.ifr_flags & IFF_UP), "lo up");
  struct sockaddr_in a = sin4("127.0.0.1", 9000);
  CHECK(ex.sock_bind(s, (struct sockaddr *)&a, sizeof a) == 0, "bind");
  struct SimDevice *d = ex.dev_create("nuse%d", NULL, 0);
  strcpy(ifr.ifr_name, "nuse0");
  CHECK(d && ex.sock_ioctl(s, SIOCGIFINDEX, (char *)&ifr) == 0 && ifr.ifr_ifindex == 2,
        "dev_create nuse%%d -> nuse0");
  Node dummy = {0};
  nodes[0] = dummy;
  nodes[0].exp = ex;
  CHECK(send_buf(&nodes[0], s, "hello", 5, &a, 0) == 5, "sendmsg");
  l_softirq();
  char buf[16];
  struct sockaddr_in from;
  ssize_t got = recv_buf(&nodes[0], s, buf, sizeof buf, &from, 0);
  CHECK(got == 5 && !memcmp(buf, "hello", 5) && from.sin_port == htons(9000), "loopback recv %zd", got);
  /* Blocking recv with no task model: -EAGAIN, not a hang. */
  got = recv_buf(&nodes[0], s, buf, sizeof buf, NULL, 0);
  CHECK(got == -EAGAIN, "empty blocking recv without tasks = %zd", got);
  /* The boundary: NULL and garbage. */
  int robust = failures;
  CHECK(ex.sock_sendmsg(s, NULL, 0) == -EFAULT, "NULL msghdr");
  CHECK(ex.sock_recvmsg(s, NULL, 0) == -EFAULT, "NULL msghdr");
  CHECK(ex.sock_bind(s, NULL, 16) == -EFAULT, "NULL sockaddr");
  CHECK(ex.sock_bind(s, (struct sockaddr *)&a, 3) == -EINVAL, "short sockaddr");
  CHECK(ex.sock_socket(AF_INET, SOCK_DGRAM, 0, NULL) == -EFAULT, "NULL out socket");
  CHECK(ex.sock_close((struct SimSocket *)0x5555) == -EBADF, "bogus socket");
  CHECK(ex.sock_ioctl(s, SIOCGIFFLAGS, NULL) == -EFAULT, "NULL ioctl arg");
  struct iovec bad_iov = {NULL, 10};
  struct msghdr bm = {.msg_iov = &bad_iov, .msg_iovlen = 1};
  CHECK(ex.sock_sendmsg(s, &bm, 0) == -EFAULT, "NULL iov_base");
  int len = 4;
  CHECK(ex.sock_getsockopt(s, SOL_SOCKET, SO_TYPE, NULL, &len) == -EFAULT, "NULL optval");
  ex.sock_poll(s, NULL);
  ex.sock_pollfreewait((void *)0x1234);
  struct SimDevicePacket bogus = {buf, (void *)0x4242};
  ex.dev_rx(d, bogus);
  ex.dev_rx(NULL, bogus);
  struct SimDevicePacket neg = ex.dev_create_packet(d, -1);
  CHECK(neg.buffer == NULL, "negative packet size");
  CHECK(ex.sys_file_read(NULL, buf, 16, 0) < 0, "NULL sys file");
  CHECK(ex.dev_create("muchtoolongname%d", NULL, 0) == NULL, "name too long");
  ex.dev_set_address(d, NULL);
  ex.sys_iterate_files(NULL);
  CHECK(ex.sock_close(s) == 0, "close");
  int robust_ok = failures == robust;
  printf("nuse_nulls=%d robust_ok=%d\n", nulls, robust_ok);
  printf("result=%s failures=%d\n", failures ? "FAIL" : "ok", failures);
  return failures ? 1 : 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (getenv("HOST_STACK")) stack_size = strtoul(getenv("HOST_STACK"), NULL, 0);
  if (argc == 4 && !strcmp(argv[1], "dce")) return run_dce(argv[2], argv[3]);
  if (argc == 4 && !strcmp(argv[1], "cooja")) {
    cooja = 1;
    return run_dce(argv[2], argv[3]);
  }
  if (argc == 3 && !strcmp(argv[1], "nuse")) return run_nuse(argv[2]);
  fprintf(stderr, "usage: %s dce LIB.so OUT.pcap | nuse LIB.so\n", argv[0]);
  return 2;
}
