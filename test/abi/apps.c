/* The C host's DCE-style scenario: TCP, UDP, ICMP and the blocking edge cases on two
 * nodes, then the summary the tests parse. */
#define _GNU_SOURCE
#include "host.h"

#define END_TIME (60 * SEC)
#define TCP_BYTES (1 << 20)

/* ---- applications ------------------------------------------------------------------ */

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + i / 251); }

static size_t tcp_received;
static int tcp_ok, tcp_cc_ok, udp_ok, icmp_ok, rcvtimeo_ok, waitall_ok, pktinfo_ok;

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
  int one = 1;
  CHECK(X(n, sock_setsockopt)(s, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == 0, "IP_PKTINFO");
  for (int k = 0; k < 3; k++) {
    char buf[256];
    struct sockaddr_in from;
    /* recvmsg with msg_control: the IP_PKTINFO cmsg names the arriving interface and
     * the destination address. */
    union {
      struct cmsghdr align;
      char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
    } ctl;
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                       .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
    ssize_t got = X(n, sock_recvmsg)(s, &m, 0); /* blocks in the library */
    CHECK(got > 0 && from.sin_addr.s_addr == inet_addr("10.0.0.2"), "udp echo recv %zd", got);
    if (got <= 0) break;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    int ok = c && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO;
    if (ok) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      ok = pi.ipi_addr.s_addr == inet_addr("10.0.3.1") && pi.ipi_ifindex == 2;
    }
    CHECK(ok, "IP_PKTINFO cmsg (controllen %zu)", (size_t)m.msg_controllen);
    pktinfo_ok += ok;
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

int run_dce(const char *lib, const char *pcap_path) {
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
  pcap_close();
  printf("monitor_ok=%d ", monitor_ok);
  printf("netlink_ok=%d ioctl_ok=%d sysctl_ok=%d tcp_cc_reno=%d\n", netlink_ok, ioctl_ok,
         sysctl_ok, tcp_cc_ok);
  printf("tcp_waitall_ok=%d close_wake_ok=%d refused_ok=%d pktinfo=%d ", waitall_ok,
         close_wake_ok, refused_ok, pktinfo_ok);
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
           refused_ok && pktinfo_ok == 3;
  printf("result=%s failures=%d\n", ok ? "ok" : "FAIL", failures);
  return ok ? 0 : 1;
}

