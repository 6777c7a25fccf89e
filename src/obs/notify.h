/* notify.h — tells the service manager (systemd, Type=notify) that the edge
 * is ready or stopping, through the NOTIFY_SOCKET datagram protocol. */
#ifndef FEDGE_OBS_NOTIFY_H
#define FEDGE_OBS_NOTIFY_H

#include "base/base.h"

/* Sends "READY=1" (with a STATUS= line naming what is ready, status may be
 * NULL) to the socket named by $NOTIFY_SOCKET: call it once every listener
 * accepts. Returns 0 when sent or when $NOTIFY_SOCKET is not set (not run
 * by systemd: nothing to do); FEDGE_EINVAL for a NOTIFY_SOCKET that is not
 * a path ("/...") or an abstract name ("@..."), FEDGE_EIO when sending
 * fails, with the reason in e (may be NULL). Blocking-free: one datagram
 * on a fresh socket. Safe to call from any thread. */
int obs_notify_ready(const char *status, fedge_err_t *e);

/* Sends "STOPPING=1": call it when the edge starts draining (SIGTERM), so
 * that `systemctl status` says so. Same returns as obs_notify_ready(). */
int obs_notify_stopping(fedge_err_t *e);

/* Sends the state lines given (e.g. "RELOADING=1"), newline-separated, as
 * one datagram. What obs_notify_ready() and obs_notify_stopping() use.
 * Same returns; FEDGE_EINVAL also for a state longer than 4 KiB. */
int obs_notify(const char *state, fedge_err_t *e);

#endif
