/* The C host's configuration tasks: node A over AF_NETLINK, node B over the classic
 * ioctls, sysctl through sys_iterate_files, and an ip-monitor task. */
#define _GNU_SOURCE
#include "host.h"

/* ---- netlink configuration (node A) ------------------------------------------------ */

void nl_attr(NlReq *r, int type, const void *data, int len) {
  struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static unsigned char nl_reply[65536];

/* Sends a request; collects the replies until the ack (returns its error) or DONE. */
int nl_talk(Node *n, struct SimSocket *s, NlReq *r, void (*each)(struct nlmsghdr *, void *),
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

int nl_ifindex(Node *n, struct SimSocket *s, const char *name) {
  NlReq r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
                   .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK}};
  nl_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
  int idx = 0;
  int e = nl_talk(n, s, &r, got_ifindex, &idx);
  CHECK(e == 0 && idx > 1, "RTM_GETLINK %s: err %d index %d", name, e, idx);
  return idx;
}

void nl_link_up(Node *n, struct SimSocket *s, int idx) {
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

int netlink_ok, ioctl_ok, sysctl_ok, monitor_ok;

/* `ip monitor` on node B: multicast groups by bind (nl_groups) and by
 * NETLINK_ADD_MEMBERSHIP; a blocking recvmsg woken by the kernel's notifications of the
 * ioctl configuration (two RTM_NEWADDR, the default route's RTM_NEWROUTE). */
void monitor_b(void *arg) {
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
  int woken_early = now_ns < 100 * MS;
  /* Nothing more changes on B: SO_RCVTIMEO (100 ms) ends the next read. */
  struct timeval short_tv = {0, 100000};
  X(n, sock_setsockopt)(s, SOL_SOCKET, SO_RCVTIMEO, &short_tv, sizeof short_tv);
  uint64_t t0 = now_ns;
  ssize_t last = recv_buf(n, s, mon, sizeof mon, NULL, 0);
  CHECK(last == -EAGAIN && now_ns - t0 == 100 * MS, "netlink timed read = %zd after %llu ns",
        last, (unsigned long long)(now_ns - t0));
  monitor_ok = addrs >= 2 && default_route == 1 && woken_early && last == -EAGAIN;
  CHECK(monitor_ok, "monitor saw %d RTM_NEWADDR, %d default RTM_NEWROUTE by %llu ns", addrs,
        default_route, (unsigned long long)now_ns);
  X(n, sock_close)(s);
}

void config_a(void *arg) {
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

void config_b(void *arg) {
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

int sysctl_get(Node *n, const char *dotted, char *out, int len) {
  struct SimSysFile *f = sysfile(n, dotted, NULL);
  if (!f) return -1;
  int r = X(n, sys_file_read)(f, out, len - 1, 0);
  out[r > 0 ? r : 0] = 0;
  if (r > 0 && out[r - 1] == '\n') out[r - 1] = 0;
  return r;
}

int sysctl_set(Node *n, const char *dotted, const char *v) {
  struct SimSysFile *f = sysfile(n, dotted, NULL);
  return f ? X(n, sys_file_write)(f, v, strlen(v), 0) : -1;
}

void sysctl_task(void *arg) {
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

