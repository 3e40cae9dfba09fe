#ifndef TAUBE_VERSION_H
#define TAUBE_VERSION_H
#define TAUBE_VERSION "0.1.0"
#endif
