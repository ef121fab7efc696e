/* The C host's NUSE-style run: lib_init with ten NULL imported slots and a NULL kernel
 * cookie, the lib_* calls NUSE makes, and NULL/garbage at the boundary. */
#define _GNU_SOURCE
#include "host.h"

/* poll_event calls back into the same instance (NUSE signals a thread that does): the
 * library has released itself before calling out, so the read is served. */
static struct SimExported *nuse_ex;
static struct SimSocket *nuse_sock;
static ssize_t reentrant_got = -1;

static void reentrant_poll_event(int flag, void *ctx) {
  (void)flag;
  (void)ctx;
  char b[16];
  struct iovec iov = {b, sizeof b};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  reentrant_got = nuse_ex->sock_recvmsg(nuse_sock, &m, MSG_DONTWAIT);
}

int run_nuse(const char *lib) {
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
  im.poll_event = reentrant_poll_event;
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
  nuse_ex = &ex;
  nuse_sock = s;
  struct poll_table_ref ref = {POLLIN, &ref};
  ex.sock_poll(s, &ref);
  CHECK(!(ref.ret & POLLIN) && ref.opaque, "poll registration");
  CHECK(send_buf(&nodes[0], s, "again", 5, &a, 0) == 5, "sendmsg");
  CHECK(reentrant_got == 5, "recvmsg from inside poll_event = %zd", reentrant_got);
  ex.sock_pollfreewait(ref.opaque);
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

