/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TFTP receiver engine (RFC 1350, 2347-2349, 7440), sans I/O: the
 * windowed receiver of pxecast-tftp-load as a function of (state, packet).
 * ACK after every W in-order blocks; ACK the last in-order block once per
 * gap or late duplicate; a 64-bit block counter so the 16-bit wire number
 * may roll over; the end is a block shorter than the negotiated blksize.
 */
#include "tftp_rx.h"
#include "bench_util.h"

#include <string.h>

#define DUP_HOLDOFF_NS (50 * BENCH_NS_PER_MS)
#define FINAL_ACKS_MAX 8

void tftp_rx_init(struct tftp_rx *rx, uint32_t blksize, uint32_t window,
		  bool tsize, bool probe)
{
	memset(rx, 0, sizeof(*rx));
	rx->ask_blksize = blksize;
	rx->ask_window = window;
	rx->ask_tsize = tsize;
	rx->probe = probe;
	rx->blksize = 512;
	rx->window = 1;
	rx->dup_holdoff_ns = DUP_HOLDOFF_NS;
}

static size_t put_ack(struct tftp_rx *rx, uint64_t now, uint16_t block,
		      uint8_t *out)
{
	out[0] = 0;
	out[1] = BENCH_TFTP_ACK;
	out[2] = (uint8_t)(block >> 8);
	out[3] = (uint8_t)block;
	rx->in_window = 0;
	rx->last_ack_ns = now;
	return 4;
}

static size_t put_error(uint16_t code, const char *msg, uint8_t *out)
{
	size_t n = strlen(msg);

	out[0] = 0;
	out[1] = BENCH_TFTP_ERROR;
	out[2] = (uint8_t)(code >> 8);
	out[3] = (uint8_t)code;
	memcpy(out + 4, msg, n + 1);
	return n + 5;
}

size_t tftp_rx_reack(struct tftp_rx *rx, uint64_t now, uint8_t *out)
{
	rx->stall_acked = false;
	if (rx->done)
		return put_ack(rx, now, rx->final_block, out);
	return put_ack(rx, now, (uint16_t)(rx->expected - 1), out);
}

static enum tftp_rx_event on_oack(struct tftp_rx *rx, uint64_t now,
				  const uint8_t *p, size_t n, uint8_t *out,
				  size_t *out_len)
{
	struct bench_oack o;

	if (!bench_oack_parse(p, n, &o) || o.blksize > rx->ask_blksize ||
	    o.window > rx->ask_window || (o.blksize != 0 && o.blksize < 8)) {
		*out_len = put_error(8, "unacceptable option", out);
		return TFTP_RX_PROTOCOL;
	}
	rx->oack = true;
	rx->blksize = o.blksize ? o.blksize : 512;
	rx->window = o.window ? o.window : 1;
	rx->has_tsize = o.has_tsize && rx->ask_tsize;
	rx->tsize = o.tsize;
	if (rx->probe) {
		/* EDK2 PxeBcTftpGetFileSize: it only wanted the size */
		rx->done = true;
		*out_len = put_error(8, "size probe", out);
		return TFTP_RX_DONE;
	}
	rx->expected = 1;
	*out_len = put_ack(rx, now, 0, out);
	return TFTP_RX_PROGRESS;
}

static enum tftp_rx_event on_data(struct tftp_rx *rx, uint64_t now,
				  const uint8_t *p, size_t n, uint8_t *out,
				  size_t *out_len)
{
	uint16_t wire = (uint16_t)((p[2] << 8) | p[3]);
	uint16_t want = (uint16_t)rx->expected;
	size_t len = n - 4;
	uint16_t delta;

	if (len > rx->blksize) {
		*out_len = put_error(4, "block larger than blksize", out);
		return TFTP_RX_PROTOCOL;
	}
	if (wire == want) {
		rx->bytes += len;
		rx->stall_acked = false;
		if (len < rx->blksize) {
			rx->final_block = wire;
			rx->done = true;
			*out_len = put_ack(rx, now, wire, out);
			return TFTP_RX_DONE;
		}
		rx->expected++;
		if (++rx->in_window >= rx->window)
			*out_len = put_ack(rx, now, wire, out);
		return TFTP_RX_PROGRESS;
	}
	delta = (uint16_t)(wire - want);
	if (delta < 0x8000) {
		rx->gaps++;
		if (!rx->stall_acked) {
			rx->stall_acked = true;
			*out_len = put_ack(rx, now, (uint16_t)(rx->expected - 1), out);
		}
		return TFTP_RX_NONE;
	}
	/* A duplicate right after our ACK echoes a duplicate: answering it
	 * would make a window-restarting server send every window twice. A
	 * late one means our ACK was lost: answer once. */
	rx->dups++;
	if (!rx->stall_acked && now - rx->last_ack_ns >= rx->dup_holdoff_ns) {
		rx->stall_acked = true;
		*out_len = put_ack(rx, now, (uint16_t)(rx->expected - 1), out);
	}
	return TFTP_RX_NONE;
}

enum tftp_rx_event tftp_rx_input(struct tftp_rx *rx, uint64_t now, uint16_t port,
				 const uint8_t *p, size_t n, uint8_t *out,
				 size_t *out_len)
{
	uint16_t op;

	*out_len = 0;
	if (n < 2 || (rx->locked && port != rx->tid))
		return TFTP_RX_NONE;
	op = (uint16_t)((p[0] << 8) | p[1]);
	if (op != BENCH_TFTP_OACK && n < 4)
		return TFTP_RX_NONE;
	if (op == BENCH_TFTP_ERROR) {
		rx->err_code = (p[2] << 8) | p[3];
		return rx->done ? TFTP_RX_NONE : TFTP_RX_ERROR;
	}
	if (rx->done) {
		/* dally: the server lost our final ACK */
		if (!rx->probe && op == BENCH_TFTP_DATA &&
		    (uint16_t)((p[2] << 8) | p[3]) == rx->final_block &&
		    rx->final_acks < FINAL_ACKS_MAX) {
			rx->final_acks++;
			*out_len = put_ack(rx, now, rx->final_block, out);
		}
		return TFTP_RX_NONE;
	}
	if (!rx->locked) {
		if (op != BENCH_TFTP_OACK && op != BENCH_TFTP_DATA)
			return TFTP_RX_NONE;
		rx->locked = true;
		rx->tid = port;
		if (op == BENCH_TFTP_OACK)
			return on_oack(rx, now, p, n, out, out_len);
		/* options ignored: RFC 1350 defaults */
		if (rx->probe) {
			/* no OACK: the size stays unknown, the probe is over */
			rx->done = true;
			*out_len = put_error(8, "size probe", out);
			return TFTP_RX_DONE;
		}
		rx->expected = 1;
	}
	if (op == BENCH_TFTP_DATA)
		return on_data(rx, now, p, n, out, out_len);
	if (op == BENCH_TFTP_OACK && rx->oack && rx->expected == 1 && rx->bytes == 0)
		*out_len = put_ack(rx, now, 0, out);   /* our ACK 0 was lost */
	return TFTP_RX_NONE;
}
