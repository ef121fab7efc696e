/* Exercises intercepted calls that curl/wget/iperf3/ping/python do not reach, on libos
 * sockets against a Linux echo server (TCP 10.99.0.1:9100, UDP :9101). Built with
 * -O2 -D_FORTIFY_SOURCE=2 so read/recv/recvfrom/poll go through glibc's __*_chk.
 * Prints "ALL OK" and exits 0 on success; the first failed check exits 1 with its line. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "FAIL line %d: %s (errno %d %s)\n", \
    __LINE__, #c, errno, strerror(errno)); exit(1); } } while (0)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static struct sockaddr_in peer(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "10.99.0.1", &a.sin_addr);
    return a;
}

int main(void) {
    char buf[256];
    /* Lengths unknown at compile time, so fortify routes through the __*_chk variants. */
    volatile size_t vone = 1, vfive = 5, vbuf = sizeof buf;
    volatile nfds_t vnfds = 1;
    size_t one = vone, five = vfive, bufn = vbuf;
    nfds_t nfds = vnfds;
    struct sockaddr_in a = peer(9100);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(s >= 0);
    CHECK(connect(s, (struct sockaddr *)&a, sizeof a) == 0);

    /* getsockname / getpeername */
    struct sockaddr_in me, him;
    socklen_t l = sizeof me;
    CHECK(getsockname(s, (struct sockaddr *)&me, &l) == 0 && l == sizeof me);
    CHECK(me.sin_addr.s_addr == inet_addr("10.99.0.2") && me.sin_port != 0);
    l = sizeof him;
    CHECK(getpeername(s, (struct sockaddr *)&him, &l) == 0 && him.sin_port == htons(9100));

    /* SO_RCVTIMEO: a blocking recv gives up with EAGAIN. */
    struct timeval tv = {0, 200000};
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    struct timeval tv2;
    l = sizeof tv2;
    CHECK(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv2, &l) == 0 && tv2.tv_usec == 200000);
    double t0 = now();
    CHECK(recv(s, buf, sizeof buf, 0) == -1 && errno == EAGAIN);
    CHECK(now() - t0 > 0.15);
    tv.tv_usec = 0;
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);

    /* writev / recv MSG_WAITALL / readv */
    struct iovec w[3] = {{"abc", 3}, {"def", 3}, {"ghi", 3}};
    CHECK(writev(s, w, 3) == 9);
    CHECK(recv(s, buf, 9, MSG_WAITALL) == 9 && memcmp(buf, "abcdefghi", 9) == 0);
    CHECK(write(s, "123456", 6) == 6);
    char r1[2], r2[4];
    struct iovec rv[2] = {{r1, 2}, {r2, 4}};
    size_t got = 0;
    while (got < 6) {
        struct iovec part[2];
        int n = 0;
        /* readv may return early; top up the rest */
        if (got < 2) { part[n].iov_base = r1 + got; part[n++].iov_len = 2 - got; }
        part[n].iov_base = r2 + (got > 2 ? got - 2 : 0);
        part[n++].iov_len = 4 - (got > 2 ? got - 2 : 0);
        ssize_t k = readv(s, part, n);
        CHECK(k > 0);
        got += k;
    }
    (void)rv;
    CHECK(memcmp(r1, "12", 2) == 0 && memcmp(r2, "3456", 4) == 0);

    /* dup2 / dup3 / fcntl64 / O_NONBLOCK / close of one dup */
    CHECK(dup2(s, 100) == 100);
    CHECK(dup3(s, 101, O_CLOEXEC) == 101);
    CHECK(fcntl(101, F_GETFD) & FD_CLOEXEC);
    CHECK(write(100, "x", 1) == 1);
    CHECK(read(s, buf, one) == 1 && buf[0] == 'x');
    CHECK(close(100) == 0 && close(101) == 0);
    CHECK(write(s, "y", 1) == 1 && read(s, buf, 1) == 1 && buf[0] == 'y');
    int fl = fcntl(s, F_GETFL);
    CHECK(fl >= 0 && !(fl & O_NONBLOCK));
    CHECK(fcntl(s, F_SETFL, fl | O_NONBLOCK) == 0);
    CHECK(read(s, buf, sizeof buf) == -1 && errno == EAGAIN);
    CHECK(fcntl(s, F_SETFL, fl) == 0);
    int on = 1;
    CHECK(ioctl(s, FIONBIO, &on) == 0);
    CHECK(recv(s, buf, sizeof buf, 0) == -1 && errno == EAGAIN);
    on = 0;
    CHECK(ioctl(s, FIONBIO, &on) == 0);
    CHECK(recv(s, buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN);

    /* ppoll times out, then reports POLLIN; FIONREAD counts the bytes. */
    struct pollfd p = {.fd = s, .events = POLLIN};
    struct timespec ts = {0, 100000000};
    t0 = now();
    CHECK(ppoll(&p, 1, &ts, NULL) == 0 && now() - t0 > 0.08);
    CHECK(send(s, "hello", 5, 0) == 5);
    CHECK(poll(&p, nfds, 5000) == 1 && (p.revents & POLLIN));
    usleep(50000);
    int avail = 0;
    CHECK(ioctl(s, FIONREAD, &avail) == 0 && avail == 5);
    CHECK(recv(s, buf, five, 0) == 5);

    /* pselect over a host pipe and the socket: only the pipe is ready. */
    int pp[2];
    CHECK(pipe(pp) == 0);
    CHECK(write(pp[1], "p", 1) == 1);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(s, &rs);
    FD_SET(pp[0], &rs);
    ts.tv_sec = 2;
    ts.tv_nsec = 0;
    int mx = (s > pp[0] ? s : pp[0]) + 1;
    CHECK(pselect(mx, &rs, NULL, NULL, &ts, NULL) == 1 && FD_ISSET(pp[0], &rs) && !FD_ISSET(s, &rs));
    CHECK(read(pp[0], buf, 1) == 1);

    /* epoll_pwait: the socket, then the pipe. */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
    ev.data.u64 = 8;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &ev) == 0);
    struct epoll_event out[4];
    CHECK(epoll_pwait(ep, out, 4, 100, NULL) == 0);
    CHECK(send(s, "e", 1, 0) == 1);
    CHECK(epoll_wait(ep, out, 4, 5000) == 1 && out[0].data.u64 == 7);
    CHECK(recv(s, buf, 1, 0) == 1);
    CHECK(write(pp[1], "q", 1) == 1);
    CHECK(epoll_wait(ep, out, 4, 5000) == 1 && out[0].data.u64 == 8);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL) == 0);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL) == -1 && errno == ENOENT);
    close(ep);

    /* sendfile from a file to the socket, echoed back. */
    char path[] = "/tmp/nuse-calls-XXXXXX";
    int f = mkstemp(path);
    CHECK(f >= 0);
    char data[10000];
    for (int i = 0; i < (int)sizeof data; i++) data[i] = (char)(i * 7);
    CHECK(write(f, data, sizeof data) == sizeof data);
    off_t off = 0;
    size_t sent = 0;
    while (sent < sizeof data) {
        ssize_t k = sendfile(s, f, &off, sizeof data - sent);
        CHECK(k > 0);
        sent += k;
    }
    CHECK(off == sizeof data);
    static char back[10000];
    CHECK(recv(s, back, sizeof back, MSG_WAITALL) == sizeof back);
    CHECK(memcmp(back, data, sizeof data) == 0);
    unlink(path);

    /* Interface ioctls see libos's tap0. */
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "tap0");
    CHECK(ioctl(s, SIOCGIFINDEX, &ifr) == 0 && ifr.ifr_ifindex == 2);
    CHECK(ioctl(s, SIOCGIFADDR, &ifr) == 0);
    CHECK(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr == inet_addr("10.99.0.2"));
    CHECK(ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu == 1500);
    struct ifconf ifc = {.ifc_len = 0, .ifc_buf = NULL};
    CHECK(ioctl(s, SIOCGIFCONF, &ifc) == 0 && ifc.ifc_len == 2 * (int)sizeof(struct ifreq));
    struct ifreq all[4];
    ifc.ifc_len = sizeof all;
    ifc.ifc_req = all;
    CHECK(ioctl(s, SIOCGIFCONF, &ifc) == 0 && ifc.ifc_len == 2 * (int)sizeof(struct ifreq));
    CHECK(strcmp(all[1].ifr_name, "tap0") == 0);
    /* A route by SIOCADDRT (struct rtentry with rt_dev), then gone by SIOCDELRT. */
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
    struct sockaddr_in *gw = (struct sockaddr_in *)&rt.rt_gateway;
    struct sockaddr_in *mask = (struct sockaddr_in *)&rt.rt_genmask;
    dst->sin_family = gw->sin_family = mask->sin_family = AF_INET;
    dst->sin_addr.s_addr = inet_addr("10.60.0.0");
    mask->sin_addr.s_addr = inet_addr("255.255.0.0");
    gw->sin_addr.s_addr = inet_addr("10.99.0.1");
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = "tap0";
    CHECK(ioctl(s, SIOCADDRT, &rt) == 0);
    CHECK(ioctl(s, SIOCADDRT, &rt) == -1 && errno == EEXIST);
    CHECK(ioctl(s, SIOCDELRT, &rt) == 0);
    CHECK(ioctl(s, SIOCDELRT, &rt) == -1 && errno == ESRCH);

    /* shutdown(SHUT_WR): the echo server closes, recv sees EOF. */
    CHECK(shutdown(s, SHUT_WR) == 0);
    CHECK(recv(s, buf, sizeof buf, 0) == 0);
    CHECK(close(s) == 0);
    CHECK(close(s) == -1 && errno == EBADF);

    /* UDP: sendmmsg three datagrams, recvmmsg them back. */
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(u >= 0);
    struct sockaddr_in ua = peer(9101);
    CHECK(connect(u, (struct sockaddr *)&ua, sizeof ua) == 0);
    struct mmsghdr mm[3];
    struct iovec mi[3];
    const char *msgs[3] = {"one", "two", "three"};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        mi[i].iov_base = (void *)msgs[i];
        mi[i].iov_len = strlen(msgs[i]);
        mm[i].msg_hdr.msg_iov = &mi[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK(sendmmsg(u, mm, 3, 0) == 3 && mm[2].msg_len == 5);
    char rb[3][16];
    struct sockaddr_in from[3];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        mi[i].iov_base = rb[i];
        mi[i].iov_len = sizeof rb[i];
        mm[i].msg_hdr.msg_iov = &mi[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &from[i];
        mm[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = 0;
    while (n < 3) {
        int k = recvmmsg(u, mm + n, 3 - n, MSG_WAITFORONE, NULL);
        CHECK(k > 0);
        n += k;
    }
    CHECK(mm[0].msg_len == 3 && memcmp(rb[0], "one", 3) == 0);
    CHECK(mm[2].msg_len == 5 && memcmp(rb[2], "three", 5) == 0);
    CHECK(from[1].sin_port == htons(9101) && from[1].sin_addr.s_addr == inet_addr("10.99.0.1"));
    socklen_t fl2 = sizeof from[0];
    CHECK(send(u, "four", 4, 0) == 4);
    CHECK(recvfrom(u, buf, bufn, 0, (struct sockaddr *)&from[0], &fl2) == 4);
    close(u);

    puts("ALL OK");
    return 0;
}
