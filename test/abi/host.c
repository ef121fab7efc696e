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
 *   host dce6 LIB.so OUT.pcap  two nodes over IPv6 (apps6.c): netlink addresses, TCP, UDP
 *                              with IPV6_PKTINFO, ICMPv6 echo to global and link-local
 *                              (scope id) addresses, sockaddr_in6 in and out
 *   host nuse LIB.so           one instance through lib_init with a NUSE-style table
 *                              (ten slots NULL, kernel cookie NULL), the lib_* calls
 *                              NUSE makes, and NULL/garbage arguments at the boundary
 *
 * Node A (10.0.0.1 on sim0, 10.0.3.1 on sim1) is configured over AF_NETLINK
 * (RTM_GETLINK, RTM_NEWLINK up, RTM_NEWADDR, RTM_NEWROUTE 10.0.2.0/24 via 10.0.0.2,
 * RTM_GETROUTE dump); node B (10.0.0.2 on sim0, 10.0.2.2 on sim1) over ioctls
 * (SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFFLAGS, SIOCADDRT default via 10.0.0.1).
 *
 * This file is the runtime: the scheduler, the tasks, the loader (dlmopen or Cooja-style
 * swapping), the wire and its pcap, the imported table, helpers over the exported table.
 * config.c configures the nodes, apps.c runs the scenario, nuse.c the NUSE-style table. */
#define _GNU_SOURCE
#include "host.h"

int failures;

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

uint64_t now_ns;
static uint64_t seq_no;
static Event **heap;
static size_t nheap, capheap;
unsigned long events_run;

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

void run_until(uint64_t end) {
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

/* ---- cooperative tasks ------------------------------------------------------------ */

/* Task stack size: HOST_STACK bytes (DCE gives `ip` 64 KiB, kernel tasks 128 KiB). */
static size_t stack_size = 1 << 20;
Task *current;
static ucontext_t main_uc;
Node nodes[2];

/* ---- DCE's CoojaLoader: one copy of the code, the writable data swapped per node ----
 * DCE's default loader maps the library once and, on every entry into a node's kernel
 * (calls, events, task switches), saves the previous node's .data/.bss and restores this
 * node's. The library must keep all mutable state there (heap through imported malloc). */
int cooja;
static unsigned char *seg;     /* the library's writable data after RELRO */
size_t seg_len;
static Node *seg_owner;
unsigned long swaps;

void enter(Node *n) {
  if (!cooja || seg_owner == n) return;
  if (seg_owner) memcpy(seg_owner->data, seg, seg_len);
  memcpy(seg, n->data, seg_len);
  seg_owner = n;
  swaps++;
}

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

Task *spawn(Node *n, uint64_t delay, void (*fn)(void *), void *arg) {
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
void block(void) {
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

void sleep_ns(uint64_t d) {
  Task *t = current;
  t->state = BLOCKED;
  schedule(d, resume, t, NULL);
  swapcontext(&t->uc, &main_uc);
  current = t;
}

/* ---- the wire and its pcap --------------------------------------------------------- */

static FILE *pcap;
static uint64_t busy_until[2];
unsigned long frames_tx[2], stub_drops;

typedef struct Frame {
  Node *to;
  int len;
  unsigned char data[];
} Frame;

void pcap_open(const char *path) {
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

void pcap_close(void) {
  if (pcap) fclose(pcap);
  pcap = NULL;
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

void fill_imported(struct SimImported *im, int nuse) {
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

struct SimSocket *sock(Node *n, int domain, int type, int proto) {
  struct SimSocket *s = NULL;
  int r = X(n, sock_socket)(domain, type, proto, &s);
  CHECK(r == 0 && s, "%s: sock_socket(%d,%d,%d) = %d", n->name, domain, type, proto, r);
  return s;
}

struct sockaddr_in sin4(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

ssize_t send_buf(Node *n, struct SimSocket *s, const void *b, size_t len,
                        struct sockaddr_in *to, int flags) {
  struct iovec iov = {(void *)b, len};
  struct msghdr m = {.msg_name = to, .msg_namelen = to ? sizeof *to : 0, .msg_iov = &iov,
                     .msg_iovlen = 1};
  return X(n, sock_sendmsg)(s, &m, flags);
}

ssize_t recv_buf(Node *n, struct SimSocket *s, void *b, size_t len,
                        struct sockaddr_in *from, int flags) {
  struct iovec iov = {b, len};
  struct msghdr m = {.msg_name = from, .msg_namelen = from ? sizeof *from : 0, .msg_iov = &iov,
                     .msg_iovlen = 1};
  return X(n, sock_recvmsg)(s, &m, flags);
}

/* The host side of poll (DCE's dce-poll): register, sleep until poll_event, probe. */
int poll_wait(Node *n, struct SimSocket *s, int events) {
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

/* ---- loading a node (DCE: KernelSocketFdFactory::InitializeStack, NotifyAddDevice) --- */

void load_node(Node *n, int id, const char *lib) {
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

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (getenv("HOST_STACK")) stack_size = strtoul(getenv("HOST_STACK"), NULL, 0);
  if (argc == 4 && !strcmp(argv[1], "dce")) return run_dce(argv[2], argv[3]);
  if (argc == 4 && !strcmp(argv[1], "cooja")) {
    cooja = 1;
    return run_dce(argv[2], argv[3]);
  }
  if (argc == 4 && !strcmp(argv[1], "dce6")) return run_dce6(argv[2], argv[3]);
  if (argc == 3 && !strcmp(argv[1], "nuse")) return run_nuse(argv[2]);
  fprintf(stderr, "usage: %s dce|cooja|dce6 LIB.so OUT.pcap | nuse LIB.so\n", argv[0]);
  return 2;
}

