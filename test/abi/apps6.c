/* The C host's IPv6 scenario (`host dce6`): the two nodes get 2001:db8:a::1/64 (A) and
 * 2001:db8:a::2/64 (B) on sim0 over AF_NETLINK (RTM_NEWADDR AF_INET6, IFA_F_NODAD, as
 * `ip -6 addr add ... nodad`; net.ipv6.conf.sim0.* read and written through
 * sys_iterate_files), then exchange, through the lib's sock_* entry points with
 * struct sockaddr_in6 in and out:
 *   - TCP: 1 MiB from A to B ([::]:5001 listener, blocking accept/connect), verified;
 *     getsockname/getpeername as sockaddr_in6;
 *   - UDP: three datagrams echoed by B, whose recvmsg carries an IPV6_PKTINFO cmsg;
 *   - ICMPv6: echo requests on a raw IPPROTO_ICMPV6 socket (the kernel fills the
 *     checksum) to B's global address and to its link-local one (sin6_scope_id);
 *   - an AF_INET6 datagram socket with IPV6_V6ONLY set refusing a v4-mapped peer.
 * The wire is captured; test_abi.py checks it with tshark and compares two runs. */
#define _GNU_SOURCE
#include "host.h"

#include <linux/icmpv6.h>

#define END6 (10 * SEC)
#define TCP6_BYTES (1 << 20)

static const char *ADDR_A = "2001:db8:a::1", *ADDR_B = "2001:db8:a::2";
/* B's sim0 link-local address: EUI-64 of its MAC 02:00:00:00:01:01. */
static const char *LL_B = "fe80::ff:fe00:101";

static int config6_ok, tcp6_ok, names6_ok, udp6_ok, pktinfo6_ok, icmp6_ok, ll_ok, v6only_ok;
static size_t tcp6_received;
static int sim0_index[2];

static struct sockaddr_in6 sin6(const char *ip, int port, unsigned scope) {
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port),
                           .sin6_scope_id = scope};
  inet_pton(AF_INET6, ip, &a.sin6_addr);
  return a;
}

static int same6(const struct sockaddr_in6 *a, const char *ip, int port) {
  struct in6_addr want;
  inet_pton(AF_INET6, ip, &want);
  return a->sin6_family == AF_INET6 && !memcmp(&a->sin6_addr, &want, 16) &&
         (port < 0 || a->sin6_port == htons(port));
}

static ssize_t send6(Node *n, struct SimSocket *s, const void *b, size_t len,
                     struct sockaddr_in6 *to) {
  struct iovec iov = {(void *)b, len};
  struct msghdr m = {.msg_name = to, .msg_namelen = to ? sizeof *to : 0, .msg_iov = &iov,
                     .msg_iovlen = 1};
  return X(n, sock_sendmsg)(s, &m, 0);
}

static ssize_t recv6(Node *n, struct SimSocket *s, void *b, size_t len,
                     struct sockaddr_in6 *from, int flags) {
  struct iovec iov = {b, len};
  struct msghdr m = {.msg_name = from, .msg_namelen = from ? sizeof *from : 0, .msg_iov = &iov,
                     .msg_iovlen = 1};
  ssize_t r = X(n, sock_recvmsg)(s, &m, flags);
  if (from && r >= 0)
    CHECK(m.msg_namelen == sizeof *from, "recvmsg namelen %d", (int)m.msg_namelen);
  return r;
}

/* ---- configuration over netlink ---------------------------------------------------- */

static void nl_addr6(Node *n, struct SimSocket *s, int idx, const char *ip, int plen) {
  NlReq r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)), .nlmsg_type = RTM_NEWADDR,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL}};
  struct ifaddrmsg *a = NLMSG_DATA(&r.h);
  a->ifa_family = AF_INET6;
  a->ifa_prefixlen = plen;
  a->ifa_flags = IFA_F_NODAD;
  a->ifa_index = idx;
  struct in6_addr in;
  inet_pton(AF_INET6, ip, &in);
  nl_attr(&r, IFA_LOCAL, &in, 16);
  nl_attr(&r, IFA_ADDRESS, &in, 16);
  int e = nl_talk(n, s, &r, NULL, NULL);
  CHECK(e == 0, "%s: RTM_NEWADDR %s: %d", n->name, ip, e);
}

static void count_addr6(struct nlmsghdr *h, void *arg) {
  if (h->nlmsg_type != RTM_NEWADDR) return;
  struct ifaddrmsg *a = NLMSG_DATA(h);
  if (a->ifa_family == AF_INET6 && a->ifa_prefixlen == 64) (*(int *)arg)++;
}

static void config6(void *arg) {
  Node *n = arg;
  int f0 = failures;
  struct SimSocket *s = sock(n, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  /* net.ipv6.* through sys_iterate_files, as DCE's LinuxSocketFdFactory::Set/Get. */
  char v[64];
  CHECK(sysctl_get(n, ".net.ipv6.conf.sim0.hop_limit", v, sizeof v) > 0 && !strcmp(v, "64"),
        "%s: net.ipv6.conf.sim0.hop_limit '%s'", n->name, v);
  CHECK(sysctl_set(n, ".net.ipv6.conf.sim0.dad_transmits", "2") == 1, "write dad_transmits");
  CHECK(sysctl_get(n, ".net.ipv6.conf.sim0.dad_transmits", v, sizeof v) > 0 && !strcmp(v, "2"),
        "%s: dad_transmits now '%s'", n->name, v);
  int idx = nl_ifindex(n, s, "sim0");
  sim0_index[n->id] = idx;
  nl_link_up(n, s, idx);
  nl_addr6(n, s, idx, n->id ? ADDR_B : ADDR_A, 64);
  /* RTM_GETADDR AF_INET6 dump: the global /64 and the link-local /64. */
  NlReq dump = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
                      .nlmsg_type = RTM_GETADDR, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP}};
  ((struct ifaddrmsg *)NLMSG_DATA(&dump.h))->ifa_family = AF_INET6;
  int found = 0;
  int e = nl_talk(n, s, &dump, count_addr6, &found);
  CHECK(e == 0 && found == 2, "%s: RTM_GETADDR AF_INET6: err %d, %d /64 addresses", n->name, e,
        found);
  X(n, sock_close)(s);
  config6_ok += failures == f0;
}

/* ---- TCP ----------------------------------------------------------------------------- */

static unsigned char pattern6(size_t i) { return (unsigned char)(i * 13 + i / 257); }

static void tcp6_server(void *arg) {
  Node *n = arg;
  struct SimSocket *l = sock(n, AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 any = sin6("::", 5001, 0);
  CHECK(X(n, sock_bind)(l, (struct sockaddr *)&any, sizeof any) == 0, "tcp6 bind");
  CHECK(X(n, sock_listen)(l, 8) == 0, "tcp6 listen");
  struct SimSocket *c = NULL;
  int r = X(n, sock_accept)(l, &c, 0); /* blocks in the library */
  CHECK(r == 0 && c, "tcp6 accept = %d", r);
  if (!c) return;
  struct sockaddr_in6 me, peer;
  int mlen = sizeof me, plen = sizeof peer;
  int ok = X(n, sock_getsockname)(c, (struct sockaddr *)&me, &mlen) == 0 &&
           X(n, sock_getpeername)(c, (struct sockaddr *)&peer, &plen) == 0 &&
           mlen == sizeof me && plen == sizeof peer && same6(&me, ADDR_B, 5001) &&
           same6(&peer, ADDR_A, -1);
  CHECK(ok, "tcp6 server names");
  names6_ok += ok;
  static unsigned char buf[65536];
  int bad = 0;
  for (;;) {
    ssize_t got = recv6(n, c, buf, sizeof buf, NULL, 0);
    if (got <= 0) break;
    for (ssize_t i = 0; i < got; i++)
      if (buf[i] != pattern6(tcp6_received + i)) bad++;
    tcp6_received += got;
  }
  CHECK(bad == 0, "tcp6: %d corrupted bytes", bad);
  tcp6_ok = bad == 0 && tcp6_received == TCP6_BYTES;
  X(n, sock_close)(c);
  X(n, sock_close)(l);
}

static void tcp6_client(void *arg) {
  Node *n = arg;
  struct SimSocket *s = sock(n, AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 to = sin6(ADDR_B, 5001, 0);
  int r = X(n, sock_connect)(s, (struct sockaddr *)&to, sizeof to, 0);
  CHECK(r == 0, "tcp6 connect = %d", r);
  struct sockaddr_in6 me;
  int mlen = sizeof me;
  int ok = X(n, sock_getsockname)(s, (struct sockaddr *)&me, &mlen) == 0 && same6(&me, ADDR_A, -1);
  CHECK(ok, "tcp6 client getsockname");
  names6_ok += ok;
  /* TCP_MAXSEG over IPv6 on a 1500-byte link: 1500 - 40 - 20 - 12 (timestamps). */
  int mss = 0, len = sizeof mss;
  X(n, sock_getsockopt)(s, IPPROTO_TCP, TCP_MAXSEG, &mss, &len);
  CHECK(mss == 1428, "tcp6 MSS %d", mss);
  static unsigned char data[TCP6_BYTES];
  for (size_t i = 0; i < TCP6_BYTES; i++) data[i] = pattern6(i);
  for (size_t off = 0; off < TCP6_BYTES; off += 65536) {
    ssize_t w = send6(n, s, data + off, 65536, NULL);
    CHECK(w == 65536, "tcp6 send = %zd", w);
    if (w != 65536) break;
  }
  X(n, sock_close)(s);
}

/* ---- UDP ----------------------------------------------------------------------------- */

static void udp6_echo(void *arg) {
  Node *n = arg;
  struct SimSocket *s = sock(n, AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 any = sin6("::", 7, 0);
  CHECK(X(n, sock_bind)(s, (struct sockaddr *)&any, sizeof any) == 0, "udp6 bind");
  int one = 1;
  CHECK(X(n, sock_setsockopt)(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) == 0,
        "IPV6_RECVPKTINFO");
  for (int k = 0; k < 3; k++) {
    char buf[256];
    struct sockaddr_in6 from;
    union {
      struct cmsghdr align;
      char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    } ctl;
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                       .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
    ssize_t got = X(n, sock_recvmsg)(s, &m, 0);
    CHECK(got > 0 && same6(&from, ADDR_A, -1), "udp6 echo recv %zd", got);
    if (got <= 0) break;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    int ok = c && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO;
    if (ok) {
      struct in6_pktinfo pi;
      struct in6_addr want;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      inet_pton(AF_INET6, ADDR_B, &want);
      ok = !memcmp(&pi.ipi6_addr, &want, 16) && (int)pi.ipi6_ifindex == sim0_index[1];
    }
    CHECK(ok, "IPV6_PKTINFO cmsg (controllen %zu)", (size_t)m.msg_controllen);
    pktinfo6_ok += ok;
    send6(n, s, buf, got, &from);
  }
  X(n, sock_close)(s);
}

static void udp6_client(void *arg) {
  Node *n = arg;
  struct SimSocket *s = sock(n, AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 to = sin6(ADDR_B, 7, 0);
  for (int k = 0; k < 3; k++) {
    char msg[64], back[64];
    int len = snprintf(msg, sizeof msg, "v6 datagram %d from A", k);
    CHECK(send6(n, s, msg, len, &to) == len, "udp6 send");
    struct sockaddr_in6 from;
    ssize_t got = recv6(n, s, back, sizeof back, &from, 0);
    int ok = got == len && !memcmp(msg, back, len) && same6(&from, ADDR_B, 7);
    CHECK(ok, "udp6 reply %d: %zd bytes", k, got);
    udp6_ok += ok;
  }
  X(n, sock_close)(s);
  /* IPV6_V6ONLY: a v4-mapped destination is refused (ENETUNREACH, as Linux's
   * udpv6_sendmsg for a v6-only socket). */
  struct SimSocket *only = sock(n, AF_INET6, SOCK_DGRAM, 0);
  int one = 1, back = 0, blen = sizeof back;
  X(n, sock_setsockopt)(only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  X(n, sock_getsockopt)(only, IPPROTO_IPV6, IPV6_V6ONLY, &back, &blen);
  struct sockaddr_in6 mapped = sin6("::ffff:10.0.0.2", 7, 0);
  ssize_t w = send6(n, only, "x", 1, &mapped);
  v6only_ok = back == 1 && w == -ENETUNREACH;
  CHECK(v6only_ok, "V6ONLY %d, send to a v4-mapped address = %zd", back, w);
  X(n, sock_close)(only);
}

/* ---- ICMPv6 -------------------------------------------------------------------------- */

/* One echo exchange on raw socket s; the kernel computes the checksum (RFC 3542 §3.1). */
static int echo6(Node *n, struct SimSocket *s, struct sockaddr_in6 *to, int seq) {
  unsigned char req[64] = {ICMPV6_ECHO_REQUEST, 0, 0, 0, 0x56, 0x78, 0, (unsigned char)seq};
  for (int i = 8; i < 64; i++) req[i] = (unsigned char)(i ^ seq);
  CHECK(send6(n, s, req, sizeof req, to) == sizeof req, "icmp6 send");
  for (;;) {
    unsigned char rep[256];
    struct sockaddr_in6 from;
    ssize_t got = recv6(n, s, rep, sizeof rep, &from, 0);
    if (got < 8) {
      CHECK(0, "icmp6 recv = %zd", got);
      return 0;
    }
    if (rep[0] != ICMPV6_ECHO_REPLY) continue; /* NDP and the like */
    /* Raw ICMPv6 sockets get no IPv6 header; the source names the scope for link-local. */
    return got == 64 && rep[4] == 0x56 && rep[5] == 0x78 && rep[7] == seq &&
           !memcmp(rep + 8, req + 8, 56) &&
           !memcmp(&from.sin6_addr, &to->sin6_addr, 16) &&
           (!IN6_IS_ADDR_LINKLOCAL(&to->sin6_addr) || from.sin6_scope_id == to->sin6_scope_id);
  }
}

static void pinger6(void *arg) {
  Node *n = arg;
  struct SimSocket *s = sock(n, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  struct sockaddr_in6 to = sin6(ADDR_B, 0, 0);
  for (int k = 0; k < 3; k++) {
    int ok = echo6(n, s, &to, k);
    CHECK(ok, "icmp6 echo %d", k);
    icmp6_ok += ok;
    sleep_ns(100 * MS);
  }
  /* Link-local: the scope id is the interface (after the link-local's DAD, ~1 s). */
  struct sockaddr_in6 ll = sin6(LL_B, 0, sim0_index[0]);
  ll_ok = echo6(n, s, &ll, 9);
  CHECK(ll_ok, "icmp6 echo to %s%%%d", LL_B, sim0_index[0]);
  X(n, sock_close)(s);
}

int run_dce6(const char *lib, const char *pcap_path) {
  pcap_open(pcap_path);
  for (int i = 0; i < 2; i++) load_node(&nodes[i], i, lib);
  Node *a = &nodes[0], *b = &nodes[1];
  spawn(a, 0, config6, a);
  spawn(b, 0, config6, b);
  spawn(b, 10 * MS, tcp6_server, b);
  spawn(a, 20 * MS, tcp6_client, a);
  spawn(b, 10 * MS, udp6_echo, b);
  spawn(a, 30 * MS, udp6_client, a);
  spawn(a, 2 * SEC, pinger6, a);
  run_until(END6);
  pcap_close();
  printf("config6_ok=%d names6_ok=%d tcp6_bytes=%zu tcp6_ok=%d udp6_replies=%d pktinfo6=%d\n",
         config6_ok, names6_ok, tcp6_received, tcp6_ok, udp6_ok, pktinfo6_ok);
  printf("icmp6_replies=%d ll_ok=%d v6only_ok=%d frames_a=%lu frames_b=%lu\n", icmp6_ok, ll_ok,
         v6only_ok, frames_tx[0], frames_tx[1]);
  int ok = !failures && config6_ok == 2 && names6_ok == 2 && tcp6_ok && udp6_ok == 3 &&
           pktinfo6_ok == 3 && icmp6_ok == 3 && ll_ok && v6only_ok;
  printf("result=%s failures=%d\n", ok ? "ok" : "FAIL", failures);
  return ok ? 0 : 1;
}
