/* libos: the lib_* functions a LibOS library exports besides the two tables (Linux
 * LibOS arch/lib/include/sim.h, sim-printf.h). They act on the instance the last
 * sim_init/lib_init of this library copy created. */
#ifndef SIM_H
#define SIM_H

#include <stdarg.h>
#include "sim-init.h"

#ifdef __cplusplus
extern "C" {
#endif

/* sock_poll's argument (LibOS declares it on both sides). */
struct poll_table_ref {
  int ret;
  void *opaque;
};

int lib_vprintf(const char *str, va_list args);
/* Up to five integer or pointer arguments (no floating point). */
void lib_printf(const char *str, ...);
void *lib_malloc(unsigned long size);
void lib_free(void *buffer);
void *lib_memcpy(void *dst, const void *src, unsigned long size);
void *lib_memset(void *dst, char value, unsigned long size);
unsigned long lib_random(void);
void *lib_event_schedule_ns(__u64 ns, void (*fn)(void *context), void *context);
void lib_event_cancel(void *event);
__u64 lib_current_ns(void);

struct SimTask *lib_task_start(void (*callback)(void *), void *context);
void lib_task_wait(void);
void lib_task_yield(void);
struct SimTask *lib_task_current(void);
int lib_task_wakeup(struct SimTask *task);
struct SimTask *lib_task_create(void *priv, unsigned long pid);
void lib_task_destroy(struct SimTask *task);
void *lib_task_get_private(struct SimTask *task);

void lib_dev_xmit(struct SimDevice *dev, unsigned char *data, int len);
struct SimDevicePacket lib_dev_create_packet(struct SimDevice *dev, int size);
void lib_dev_rx(struct SimDevice *dev, struct SimDevicePacket packet);
void *lib_dev_get_private(struct SimDevice *dev);

void lib_signal_raised(struct SimTask *task, int sig);
void lib_poll_event(int flag, void *context);
/* Run what is due: timers up to current_ns, queued frames and wake-ups. Call after a
 * task wakes, a timer fires or frames were handed to dev_rx. */
void lib_softirq_wakeup(void);
void lib_update_jiffies(void);
void lib_proc_net_initialize(void);

#ifdef __cplusplus
}
#endif

#endif /* SIM_H */
