/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TFTP receiver engine (RFC 1350, 2347-2349, 7440), sans I/O, shared by
 * pxecast-tftp-load and pxecast-bench: feed it the server's datagrams and
 * a clock, send what it writes to out. Standalone (no pxecast headers), so
 * the TFTP load client still builds without the core library.
 */
#ifndef PXECAST_BENCH_TFTP_RX_H
#define PXECAST_BENCH_TFTP_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tftp_rx_event {
	TFTP_RX_NONE,       /* nothing changed (stray, duplicate) */
	TFTP_RX_PROGRESS,   /* new data or OACK: reset the retransmit timer */
	TFTP_RX_DONE,       /* the whole file (or, when probing, the OACK) */
	TFTP_RX_ERROR,      /* ERROR from the server: code in err_code */
	TFTP_RX_PROTOCOL,   /* unacceptable packet; an ERROR may be queued */
};

struct tftp_rx {
	/* asked */
	uint32_t ask_blksize, ask_window;
	bool ask_tsize;
	bool probe;           /* tsize probe: stop after the OACK with error 8 */
	/* negotiated */
	uint32_t blksize, window;
	bool locked, oack, done, has_tsize;
	uint16_t tid;         /* server port, host order, once locked */
	uint64_t tsize;
	uint64_t expected;    /* next in-order block (64-bit: rollover safe) */
	uint64_t bytes;
	uint32_t in_window;
	bool stall_acked;
	uint16_t final_block;
	uint32_t final_acks;  /* dally re-ACKs of the final block (at most 8) */
	uint64_t last_ack_ns;
	uint64_t dup_holdoff_ns;  /* a duplicate this soon after an ACK is an echo */
	int err_code;
	uint64_t gaps, dups;
};

void tftp_rx_init(struct tftp_rx *rx, uint32_t blksize, uint32_t window,
		  bool tsize, bool probe);
/* One datagram from the server (port: its source port). A reply to send
 * (ACK or ERROR) is written to out (>= 64 bytes) with *out_len > 0. */
enum tftp_rx_event tftp_rx_input(struct tftp_rx *rx, uint64_t now, uint16_t port,
				 const uint8_t *p, size_t n, uint8_t *out,
				 size_t *out_len);
/* Retransmission timer fired after the first reply: the ACK to resend. */
size_t tftp_rx_reack(struct tftp_rx *rx, uint64_t now, uint8_t *out);

#endif
