/* version.h — the version of fedge: the one place it is written (the
 * Makefile reads it for `make deb`, which checks debian/changelog agrees). */
#ifndef FEDGE_VERSION_H
#define FEDGE_VERSION_H

#define FEDGE_VERSION "0.1.0"

#endif
