/* libos: the LibOS C ABI, API version 2 — shared types.
 * Same names and layouts as Linux LibOS's arch/lib/include/sim-types.h, so hosts
 * written for LibOS (ns-3 DCE, NUSE-style preloaders) compile against it unchanged. */
#ifndef SIM_TYPES_H
#define SIM_TYPES_H

#define LIBOS_API_VERSION 2

/* Opaque handles: the host never looks inside. */
struct SimKernel;  /* the host's cookie, passed back as 1st argument of every import */
struct SimTask;
struct SimSocket;
struct SimDevice;
struct SimSysFile;

enum SimDevFlags {
  SIM_DEV_NOARP = (1 << 0),
  SIM_DEV_POINTTOPOINT = (1 << 1),
  SIM_DEV_MULTICAST = (1 << 2),
  SIM_DEV_BROADCAST = (1 << 3),
};

/* A receive buffer from dev_create_packet, returned by value; hand it to dev_rx. */
struct SimDevicePacket {
  void *buffer;
  void *token;
};

enum SimSysFileFlags {
  SIM_SYS_FILE_READ = 1 << 0,
  SIM_SYS_FILE_WRITE = 1 << 1,
};

/* sys_iterate_files walks the sysctl tree through these; embed it as the first member of
 * your own iterator struct. Directories are reported before the files beside them. */
struct SimSysIterator {
  void (*report_start_dir)(const struct SimSysIterator *iter, const char *dirname);
  void (*report_end_dir)(const struct SimSysIterator *iter);
  void (*report_file)(const struct SimSysIterator *iter, const char *filename, int flags,
                      struct SimSysFile *file);
};

#endif /* SIM_TYPES_H */
