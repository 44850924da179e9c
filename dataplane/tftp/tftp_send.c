/* Sending for the TFTP family (the unicast server and the multicast one):
 * control packets copied into a pooled buffer, DATA blocks straight from
 * the content store's pinned chunks, consecutive full blocks grouped into
 * one UDP GSO send. Buffers live until the transport is done with them.
 */
#include "dataplane/tftp/tftp.h"

#include "dataplane/transport.h"
#include "imager/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000
#define GSO_MAX_SEGMENT 1472     /* fits a 1500-byte MTU: larger blocks fragment */

struct tx {
	struct tftp_sender *owner;
	struct tx *next_free;
	unsigned npins;
	struct store_chunk *pins[2 * GSO_MAX_SEGMENTS];
	uint8_t hdr[GSO_MAX_SEGMENTS][4];
	uint8_t ctl[TFTP_OACK_MAX];
	struct iovec iov[3 * GSO_MAX_SEGMENTS];
};

struct tftp_sender {
	struct transport *t;
	struct tx *free_tx;
	unsigned live_tx;
};

struct tftp_sender *tftp_sender_new(struct transport *t)
{
	struct tftp_sender *s = calloc(1, sizeof(*s));

	if (s)
		s->t = t;
	return s;
}

void tftp_sender_free(struct tftp_sender *s)
{
	if (!s)
		return;
	/* Sends still in the ring hold tx buffers; the transport is destroyed
	 * after us, so drain them now. */
	while (s->live_tx > 0 && s->t->ops->run_once(s->t, transport_now_us() + 100000) >= 0)
		;
	while (s->free_tx) {
		struct tx *tx = s->free_tx;

		s->free_tx = tx->next_free;
		free(tx);
	}
	free(s);
}

static struct tx *tx_get(struct tftp_sender *s)
{
	struct tx *tx = s->free_tx;

	if (tx)
		s->free_tx = tx->next_free;
	else if (!(tx = malloc(sizeof(*tx))))
		return NULL;
	tx->owner = s;
	tx->npins = 0;
	s->live_tx++;
	return tx;
}

static void tx_done(void *arg, int result)
{
	struct tx *tx = arg;
	struct tftp_sender *s = tx->owner;

	(void)result; /* a lost datagram is the engine's retransmission to repair */
	for (unsigned i = 0; i < tx->npins; i++)
		store_chunk_put(tx->pins[i]);
	tx->next_free = s->free_tx;
	s->free_tx = tx;
	s->live_tx--;
}

void tftp_send_packet(struct tftp_sender *s, int sock, const struct net_addr *to,
		      const uint8_t *pkt, size_t len)
{
	struct tx *tx;

	if (len == 0 || len > TFTP_OACK_MAX || !(tx = tx_get(s)))
		return;
	memcpy(tx->ctl, pkt, len);
	tx->iov[0] = (struct iovec){ tx->ctl, len };
	if (s->t->ops->udp_send(s->t, sock, to, tx->iov, 1, 0, tx_done, tx) < 0)
		tx_done(tx, -1);
}

void tftp_send_error(struct tftp_sender *s, int sock, const struct net_addr *to, uint16_t code,
		     const char *msg)
{
	uint8_t pkt[TFTP_ERROR_MAX];

	tftp_send_packet(s, sock, to, pkt, tftp_build_error(pkt, sizeof(pkt), code, msg));
}

/* act[0..n) as one send (GSO when n > 1). Returns bytes or -errno. */
static int64_t send_group(struct tftp_sender *s, int sock, const struct net_addr *to,
			  struct store_object *obj, const struct tftp_action *act, unsigned n,
			  unsigned blksize)
{
	struct tx *tx = tx_get(s);
	unsigned niov = 0, seg;
	int64_t bytes = 0;

	if (!tx)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct iovec part[2];
		struct store_chunk *pins[2];
		int k = act[i].len ? store_object_map(obj, act[i].offset, act[i].len, part, pins) : 0;

		if (k < 0) {
			tx_done(tx, k);
			return k;
		}
		memcpy(tx->hdr[i], act[i].hdr, 4);
		tx->iov[niov++] = (struct iovec){ tx->hdr[i], 4 };
		for (int j = 0; j < k; j++) {
			tx->iov[niov++] = part[j];
			tx->pins[tx->npins++] = pins[j];
		}
		bytes += act[i].len;
	}
	seg = n > 1 ? 4u + blksize : 0;
	if (s->t->ops->udp_send(s->t, sock, to, tx->iov, niov, seg, tx_done, tx) < 0)
		tx_done(tx, -1);
	return bytes;
}

int64_t tftp_send_data(struct tftp_sender *s, int sock, const struct net_addr *to,
		       struct store_object *obj, const struct tftp_action *act, unsigned n,
		       unsigned blksize)
{
	unsigned per = 1;
	int64_t total = 0;

	if (4 + blksize <= GSO_MAX_SEGMENT) {
		per = GSO_MAX_BYTES / (4 + blksize);
		per = per > GSO_MAX_SEGMENTS ? GSO_MAX_SEGMENTS : per;
	}
	for (unsigned i = 0; i < n;) {
		unsigned k = 1;
		int64_t b;

		/* Only the last datagram of a GSO send may be short. */
		while (i + k < n && k < per && act[i + k - 1].len == blksize &&
		       act[i + k].kind == TFTP_ACT_DATA)
			k++;
		b = send_group(s, sock, to, obj, act + i, k, blksize);
		if (b < 0)
			return b;
		total += b;
		i += k;
	}
	return total;
}
