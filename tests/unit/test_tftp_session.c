/* The TFTP engine driven with byte arrays and a fake clock: loss,
 * duplication, reordering, rollover and timeouts in microseconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dataplane/tftp/tftp.h"

static const struct tftp_timing timing = {
	.retransmit_ms = 1000, .retransmit_max_ms = 4000, .max_retries = 3,
	.max_transfer_us = 60ull * 1000000u,
};

static struct tftp_params params(uint16_t blksize, uint16_t window)
{
	return (struct tftp_params){ .blksize = blksize, .windowsize = window };
}

static void ack(struct tftp_session *s, uint64_t now, uint16_t block, struct tftp_output *out)
{
	uint8_t pkt[4] = { 0, TFTP_ACK, (uint8_t)(block >> 8), (uint8_t)block };

	tftp_session_input(s, now, pkt, 4, out);
}

static uint16_t data_block(const struct tftp_action *a)
{
	return (uint16_t)(a->hdr[2] << 8 | a->hdr[3]);
}

/* The DATA actions in out are blocks first..first+n-1 (wire numbers). */
static void expect_data(const struct tftp_output *out, uint16_t first, unsigned n)
{
	assert_int_equal(out->n, n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(out->act[i].kind, TFTP_ACT_DATA);
		assert_int_equal(data_block(&out->act[i]), (uint16_t)(first + i));
	}
}

static void test_lockstep_download(void **state)
{
	struct tftp_params p = params(512, 1);
	struct tftp_session *s = tftp_session_new(false, &p, 1200, &timing);
	struct tftp_output out;

	(void)state;
	tftp_session_start(s, 0, NULL, 0, &out);
	expect_data(&out, 1, 1);
	assert_int_equal(out.act[0].offset, 0);
	assert_int_equal(out.act[0].len, 512);
	ack(s, 10, 1, &out);
	expect_data(&out, 2, 1);
	assert_int_equal(out.act[0].offset, 512);
	ack(s, 20, 2, &out);
	expect_data(&out, 3, 1);
	assert_int_equal(out.act[0].len, 176);
	assert_int_equal(tftp_session_state(s), TFTP_STATE_RUNNING);
	ack(s, 30, 3, &out);
	assert_int_equal(out.n, 0);
	assert_int_equal(tftp_session_state(s), TFTP_STATE_DONE);
	assert_int_equal(tftp_session_end_reason(s), TFTP_END_OK);
	assert_int_equal(tftp_session_bytes(s), 1200);
	assert_int_equal(tftp_session_deadline(s), UINT64_MAX);
	tftp_session_free(s);
}

/* A file whose size is a multiple of blksize ends with an empty block. */
static void test_exact_multiple_and_empty(void **state)
{
	struct tftp_params p = params(512, 4);
	struct tftp_session *s = tftp_session_new(false, &p, 1024, &timing);
	struct tftp_output out;

	(void)state;
	tftp_session_start(s, 0, NULL, 0, &out);
	expect_data(&out, 1, 3);
	assert_int_equal(out.act[2].len, 0);
	ack(s, 1, 3, &out);
	assert_int_equal(tftp_session_state(s), TFTP_STATE_DONE);
	tftp_session_free(s);

	s = tftp_session_new(false, &p, 0, &timing);
	tftp_session_start(s, 0, NULL, 0, &out);
	expect_data(&out, 1, 1);
	assert_int_equal(out.act[0].len, 0);
	tftp_session_free(s);
}

static void test_oack_then_window(void **state)
{
	static const uint8_t oack[] = "\0\6blksize\0001468\0windowsize\0004";
	struct tftp_params p = params(1468, 4);
	struct tftp_session *s = tftp_session_new(false, &p, 1468 * 10, &timing);
	struct tftp_output out;

	(void)state;
	tftp_session_start(s, 0, oack, sizeof(oack) - 1, &out);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.act[0].kind, TFTP_ACT_PACKET);
	assert_int_equal(out.ctl_len, sizeof(oack) - 1);
	assert_memory_equal(out.ctl, oack, sizeof(oack) - 1);
	/* Only ACK 0 confirms an OACK. */
	ack(s, 5, 1, &out);
	assert_int_equal(out.n, 0);
	ack(s, 10, 0, &out);
	expect_data(&out, 1, 4);
	ack(s, 20, 4, &out);
	expect_data(&out, 5, 4);
	tftp_session_free(s);
}

/* RFC 7440: block 3 of 1..8 lost; the client ACKs 2; the server resends
 * from 3. The duplicate ACK 2 that follows sends nothing (Sorcerer's
 * Apprentice). */
static void test_window_loss_in_middle(void **state)
{
	struct tftp_params p = params(512, 8);
	struct tftp_session *s = tftp_session_new(false, &p, 512 * 100, &timing);
	struct tftp_output out;

	(void)state;
	tftp_session_start(s, 0, NULL, 0, &out);
	expect_data(&out, 1, 8);
	ack(s, 10, 2, &out);
	expect_data(&out, 3, 8);
	ack(s, 11, 2, &out);
	assert_int_equal(out.n, 0);
	/* An ACK beyond what was sent is a stray and ignored. */
	ack(s, 12, 40, &out);
	assert_int_equal(out.n, 0);
	ack(s, 13, 10, &out);
	expect_data(&out, 11, 8);
	/* Reordered: an older ACK arriving late changes nothing. */
	ack(s, 14, 5, &out);
	assert_int_equal(out.n, 0);
	tftp_session_free(s);
}

static void test_duplicate_acks_lockstep(void **state)
{
	struct tftp_params p = params(512, 1);
	struct tftp_session *s = tftp_session_new(false, &p, 512 * 10, &timing);
	struct tftp_output out;

	(void)state;
	tftp_session_start(s, 0, NULL, 0, &out);
	ack(s, 1, 1, &out);
	expect_data(&out, 2, 1);
	for (int i = 0; i < 5; i++) {
		ack(s, 2, 1, &out);
		assert_int_equal(out.n, 0);
	}
	ack(s, 3, 2, &out);
	expect_data(&out, 3, 1);
	tftp_session_free(s);
}

/* 100 MiB at blksize 512 crosses block 65535 three times. */
static void test_rollover(void **state)
{
	uint64_t size = 100ull << 20;
	struct tftp_params p = params(512, 16);
	struct tftp_session *s = tftp_session_new(false, &p, size, &timing);
	struct tftp_output out;
	uint64_t next = 1, now = 0, last_offset = 0;
	unsigned zero_blocks = 0;

	(void)state;
	tftp_session_start(s, now, NULL, 0, &out);
	while (tftp_session_state(s) == TFTP_STATE_RUNNING) {
		const struct tftp_action *lastact;

		assert_true(out.n > 0);
		for (unsigned i = 0; i < out.n; i++) {
			assert_int_equal(data_block(&out.act[i]), (uint16_t)(next + i));
			assert_int_equal(out.act[i].offset, (next + i - 1) * 512);
			if (data_block(&out.act[i]) == 0)
				zero_blocks++;
		}
		lastact = &out.act[out.n - 1];
		last_offset = lastact->offset;
		next += out.n;
		ack(s, ++now, data_block(lastact), &out);
	}
	assert_int_equal(tftp_session_end_reason(s), TFTP_END_OK);
	assert_int_equal(tftp_session_bytes(s), size);
	assert_int_equal(last_offset, size); /* the final empty block */
	assert_int_equal(zero_blocks, 3);
	tftp_session_free(s);
}

static void test_timeout_backoff_and_give_up(void **state)
{
	struct tftp_params p = params(512, 4);
	struct tftp_session *s = tftp_session_new(false, &p, 512 * 10, &timing);
	struct tftp_output out;
	uint64_t t;

	(void)state;
	tftp_session_start(s, 0, NULL, 0, &out);
	assert_int_equal(tftp_session_deadline(s), 1000000);
	tftp_session_tick(s, 999999, &out);
	assert_int_equal(out.n, 0);
	tftp_session_tick(s, 1000000, &out);
	expect_data(&out, 1, 4);
	t = tftp_session_deadline(s);
	assert_int_equal(t, 1000000 + 2000000);
	tftp_session_tick(s, t, &out);
	expect_data(&out, 1, 4);
	assert_int_equal(tftp_session_deadline(s), t + 4000000);
	t = tftp_session_deadline(s);
	tftp_session_tick(s, t, &out);
	expect_data(&out, 1, 4);
	assert_int_equal(tftp_session_deadline(s), t + 4000000); /* capped */
	tftp_session_tick(s, tftp_session_deadline(s), &out);
	assert_int_equal(out.n, 0);
	assert_int_equal(tftp_session_state(s), TFTP_STATE_FAILED);
	assert_int_equal(tftp_session_end_reason(s), TFTP_END_TIMEOUT);
	tftp_session_free(s);
}

/* Progress resets the backoff. */
static void test_progress_resets_backoff(void **state)
{
	struct tftp_params p = params(512, 1);
	struct tftp_session *s = tftp_session_new(false, &p, 512 * 10, &timing);
	struct tftp_output out;

	(void)state;
	tftp_session_start(s, 0, NULL, 0, &out);
	tftp_session_tick(s, 1000000, &out);
	tftp_session_tick(s, 3000000, &out);
	ack(s, 3500000, 1, &out);
	assert_int_equal(tftp_session_deadline(s), 4500000);
	tftp_session_free(s);
}

/* UEFI asks tsize, reads the OACK and aborts with error 8. */
static void test_tsize_probe_abort(void **state)
{
	static const uint8_t oack[] = "\0\6tsize\0005000";
	static const uint8_t err8[] = "\0\5\0\10User aborted the transfer";
	struct tftp_params p = params(512, 1);
	struct tftp_session *s = tftp_session_new(false, &p, 5000, &timing);
	struct tftp_output out;

	(void)state;
	tftp_session_start(s, 0, oack, sizeof(oack) - 1, &out);
	tftp_session_input(s, 100, err8, sizeof(err8), &out);
	assert_int_equal(out.n, 0);
	assert_int_equal(tftp_session_state(s), TFTP_STATE_FAILED);
	assert_int_equal(tftp_session_end_reason(s), TFTP_END_PEER_ERROR);
	assert_int_equal(tftp_session_deadline(s), UINT64_MAX);
	assert_true(tftp_session_was_probe(s));
	tftp_session_free(s);
	/* An error 8 after data has flowed is a failure, not a probe. */
	s = tftp_session_new(false, &p, 5000, &timing);
	tftp_session_start(s, 0, oack, sizeof(oack) - 1, &out);
	ack(s, 10, 0, &out);
	ack(s, 20, 1, &out);
	tftp_session_input(s, 30, err8, sizeof(err8), &out);
	assert_false(tftp_session_was_probe(s));
	tftp_session_free(s);
}

static void test_transfer_time_cap(void **state)
{
	struct tftp_timing t = timing;
	struct tftp_params p = params(512, 1);
	struct tftp_session *s;
	struct tftp_output out;

	(void)state;
	t.max_transfer_us = 1500000;
	t.max_retries = 100;
	s = tftp_session_new(false, &p, 512 * 10, &t);
	tftp_session_start(s, 0, NULL, 0, &out);
	tftp_session_tick(s, 1000000, &out);
	expect_data(&out, 1, 1);
	tftp_session_tick(s, 3000000, &out);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.act[0].kind, TFTP_ACT_PACKET);
	assert_memory_equal(out.ctl, "\0\5\0\0", 4);
	assert_int_equal(tftp_session_end_reason(s), TFTP_END_TOO_LONG);
	tftp_session_free(s);
}

/* A client that ACKs slowly but steadily is still cut off at the cap. */
static void test_time_cap_with_trickling_acks(void **state)
{
	struct tftp_timing t = timing;
	struct tftp_params p = params(512, 1);
	struct tftp_session *s;
	struct tftp_output out;
	uint64_t now = 0;
	uint16_t block = 1;

	(void)state;
	t.max_transfer_us = 2000000;
	s = tftp_session_new(false, &p, 512 * 1000, &t);
	tftp_session_start(s, now, NULL, 0, &out);
	while (now < 1900000) {
		now += 200000;
		ack(s, now, block++, &out);
		expect_data(&out, block, 1);
		assert_true(tftp_session_deadline(s) <= 2000000);
	}
	assert_int_equal(tftp_session_deadline(s), 2000000);
	tftp_session_tick(s, 2000000, &out);
	assert_int_equal(tftp_session_state(s), TFTP_STATE_FAILED);
	assert_int_equal(tftp_session_end_reason(s), TFTP_END_TOO_LONG);
	tftp_session_free(s);
}

static void data(struct tftp_session *s, uint64_t now, uint16_t block, size_t len,
		 struct tftp_output *out)
{
	static uint8_t pkt[4 + 1024];

	pkt[0] = 0;
	pkt[1] = TFTP_DATA;
	pkt[2] = (uint8_t)(block >> 8);
	pkt[3] = (uint8_t)block;
	memset(pkt + 4, (int)block, len);
	tftp_session_input(s, now, pkt, 4 + len, out);
}

static void expect_ack(const struct tftp_output *out, unsigned index, uint16_t block)
{
	assert_true(out->n > index);
	assert_int_equal(out->act[index].kind, TFTP_ACT_PACKET);
	assert_int_equal(out->ctl_len, 4);
	assert_int_equal(out->ctl[1], TFTP_ACK);
	assert_int_equal(out->ctl[2] << 8 | out->ctl[3], block);
}

static void test_upload_window_and_dally(void **state)
{
	struct tftp_params p = params(512, 2);
	struct tftp_session *s = tftp_session_new(true, &p, 0, &timing);
	struct tftp_output out;

	(void)state;
	tftp_session_start(s, 0, NULL, 0, &out);
	expect_ack(&out, 0, 0);
	data(s, 1, 1, 512, &out);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.act[0].kind, TFTP_ACT_WRITE);
	assert_int_equal(out.act[0].offset, 0);
	data(s, 2, 2, 512, &out);
	assert_int_equal(out.n, 2);
	assert_int_equal(out.act[0].offset, 512);
	expect_ack(&out, 1, 2);
	/* Block 4 before 3: a gap, ACK 2 once. */
	data(s, 3, 4, 512, &out);
	expect_ack(&out, 0, 2);
	data(s, 4, 5, 512, &out);
	assert_int_equal(out.n, 0);
	data(s, 5, 3, 512, &out);
	assert_int_equal(out.act[0].kind, TFTP_ACT_WRITE);
	data(s, 6, 4, 100, &out);
	assert_int_equal(out.act[0].kind, TFTP_ACT_WRITE);
	assert_int_equal(out.act[0].len, 100);
	expect_ack(&out, 1, 4);
	assert_int_equal(tftp_session_state(s), TFTP_STATE_DONE);
	assert_int_equal(tftp_session_bytes(s), 3 * 512 + 100);
	/* Our final ACK was lost: the repeated last block is ACKed again. */
	data(s, 7, 4, 100, &out);
	assert_int_equal(out.n, 1);
	expect_ack(&out, 0, 4);
	assert_int_not_equal(tftp_session_deadline(s), UINT64_MAX);
	tftp_session_tick(s, tftp_session_deadline(s), &out);
	assert_int_equal(tftp_session_deadline(s), UINT64_MAX);
	tftp_session_free(s);
}

static void test_upload_oversized_block(void **state)
{
	struct tftp_params p = params(512, 1);
	struct tftp_session *s = tftp_session_new(true, &p, 0, &timing);
	struct tftp_output out;

	(void)state;
	tftp_session_start(s, 0, NULL, 0, &out);
	data(s, 1, 1, 600, &out);
	assert_int_equal(out.n, 1);
	assert_memory_equal(out.ctl, "\0\5\0\4", 4);
	assert_int_equal(tftp_session_state(s), TFTP_STATE_FAILED);
	tftp_session_free(s);
}

/* Garbage on the transfer port changes nothing. */
static void test_junk_ignored(void **state)
{
	struct tftp_params p = params(512, 1);
	struct tftp_session *s = tftp_session_new(false, &p, 2000, &timing);
	struct tftp_output out;
	static const uint8_t junk[][6] = { { 0 }, { 0, 3, 0, 1, 'x', 'y' }, { 0, 1, 'a', 0, 'b', 0 },
					   { 0xff, 0xff, 1, 2, 3, 4 } };

	(void)state;
	tftp_session_start(s, 0, NULL, 0, &out);
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		for (size_t len = 0; len <= 6; len++) {
			tftp_session_input(s, 1, junk[i], len, &out);
			assert_int_equal(out.n, 0);
		}
	assert_int_equal(tftp_session_state(s), TFTP_STATE_RUNNING);
	tftp_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lockstep_download),
		cmocka_unit_test(test_exact_multiple_and_empty),
		cmocka_unit_test(test_oack_then_window),
		cmocka_unit_test(test_window_loss_in_middle),
		cmocka_unit_test(test_duplicate_acks_lockstep),
		cmocka_unit_test(test_rollover),
		cmocka_unit_test(test_timeout_backoff_and_give_up),
		cmocka_unit_test(test_progress_resets_backoff),
		cmocka_unit_test(test_tsize_probe_abort),
		cmocka_unit_test(test_transfer_time_cap),
		cmocka_unit_test(test_time_cap_with_trickling_acks),
		cmocka_unit_test(test_upload_window_and_dally),
		cmocka_unit_test(test_upload_oversized_block),
		cmocka_unit_test(test_junk_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
