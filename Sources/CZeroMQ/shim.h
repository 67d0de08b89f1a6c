#ifndef FOCUS_CZEROMQ_SHIM_H
#define FOCUS_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
