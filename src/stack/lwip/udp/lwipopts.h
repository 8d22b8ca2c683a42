/* lwIP profile "udp": IPv4, ARP, ICMP, UDP; TCP compiled out (the paper's
 * stripped stack for its UDP key-value experiment). */
#ifndef FRAGNET_LWIPOPTS_H
#define FRAGNET_LWIPOPTS_H

#include "../common.h"

#define LWIP_UDP			1
#define LWIP_TCP			0
#define MEMP_NUM_UDP_PCB		1024

#endif
