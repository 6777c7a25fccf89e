/* version.h — the version of fedge: the one place it is written. `fedge
 * --version`, GET /api/status, the pool's member records and the man pages
 * (the Makefile reads it) take it from here; `make deb` refuses a
 * debian/changelog that says otherwise. */
#ifndef FEDGE_VERSION_H
#define FEDGE_VERSION_H

#define FEDGE_VERSION "0.1.0"

#endif
